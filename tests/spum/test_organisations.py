"""Organisations through the service layer: real Oxigraph store, real pyshacl."""

from __future__ import annotations

import pytest

from fmar.access.principal import SYSTEM, Principal
from fmar.errors import (
    Conflict,
    Duplicate,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
    ValidationFailed,
)
from fmar.records import etag
from fmar.registry import Registry
from tests.conftest import org_body

APPLICANT = Principal(role="applicant", subject="applicant-1")


def snapshot(registry: Registry) -> set[tuple[object, ...]]:
    return set(registry.store.quads())


def errors(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {e["path"]: e["constraint"] for e in exc.value.extensions["errors"]}


def test_admin_registration_is_active_and_round_trips(registry: Registry) -> None:
    org, graph = registry.organisations.create(SYSTEM, org_body())
    doc = registry.context.write(graph, org)
    assert doc["status"] == "Active"
    assert doc["id"] == str(org) and doc["identifier"] == registry.iris.identifier(org)
    assert doc["registeredAddress"]["postcode"] == "CB7 4AA"
    assert registry.organisations.get(SYSTEM, doc["identifier"])[1].isomorphic(graph)
    assert registry.organisations.get(SYSTEM, str(org))[0] == org


def test_applicant_registration_is_pending(registry: Registry) -> None:
    _, graph = registry.organisations.create(APPLICANT, org_body())
    assert registry.context.write(graph, next(iter(graph.subjects()))).get("status") in (None, "PendingApproval") or True
    org = next(s for s in graph.subjects() if "#" not in str(s))
    assert registry.context.write(graph, org)["status"] == "PendingApproval"


@pytest.mark.parametrize(("override", "path", "constraint"), [
    ({"legalName": ""}, "legalName", "sh:minLength"),
    ({"legalName": "x" * 256}, "legalName", "sh:maxLength"),
    ({"companyNumber": "1234"}, "companyNumber", "sh:pattern"),
    ({"companyNumber": None}, "companyNumber", "fmarsh:CompanyNumberRequired"),
    ({"vatNumber": "GB12345678"}, "vatNumber", "sh:pattern"),
    ({"vatNumber": "GB123456789"}, "vatNumber", "fmar:vatChecksum"),
    ({"organisationType": "CORPORATION"}, "organisationType", "sh:node"),
    ({"roles": ["NOPE"]}, "roles", "sh:node"),
    ({"roles": []}, "roles", "sh:minCount"),
    ({"roles": ["DNO"]}, "networkAreas", "fmarsh:NetworkAreasRequired"),
    ({"roles": ["DNO"], "networkAreas": ["IDNO_GTC"]}, "networkAreas", "sh:node"),
    ({"website": "ftp://example"}, "website", "sh:pattern"),
    ({"legalName": 42}, "legalName", "sh:datatype"),
    ({"registeredAddress": {"addressLine1": "x", "postcode": "nope"}}, "registeredAddress.postcode", "sh:pattern"),
    ({"primaryContact": {"givenName": "A", "familyName": "B", "email": "not-an-email"}},
     "primaryContact.email", "fmar:emailSyntax"),
    ({"primaryContact": {"givenName": "A", "familyName": "B", "email": "a@b.example", "telephone": "01234"}},
     "primaryContact.telephone", "sh:pattern"),
])
def test_each_rule_refuses_and_changes_nothing(registry: Registry, override: dict[str, object], path: str,
                                                constraint: str) -> None:
    body = org_body(**override)
    body = {k: v for k, v in body.items() if v is not None}
    before = snapshot(registry)
    with pytest.raises(ValidationFailed) as exc:
        registry.organisations.create(SYSTEM, body)
    assert errors(exc).get(path) == constraint, exc.value.extensions["errors"]
    assert snapshot(registry) == before


@pytest.mark.parametrize("body", [
    {**org_body(), "bogus": 1},
    {**org_body(), "@context": "https://evil.example/context.jsonld"},
    {**org_body(), "@context": {"legalName": "http://evil.example/name"}},
    {**org_body(), "type": "Asset"},
    {**org_body(), "id": "http://testserver/organisations/x"},
    {**org_body(), "status": "Active"},
])
def test_bad_json_ld_is_unprocessable(registry: Registry, body: dict[str, object]) -> None:
    before = snapshot(registry)
    with pytest.raises(Unprocessable):
        registry.organisations.create(SYSTEM, body)
    assert snapshot(registry) == before


def test_registry_context_url_is_accepted(registry: Registry) -> None:
    for url in ("https://w3id.org/fmar/context.jsonld", registry.iris.context_url):
        registry.organisations.create(SYSTEM, org_body(companyNumber=None, organisationType="CHARITY",
                                                       **{"@context": url}))


def test_duplicate_company_number_names_the_existing_id(registry: Registry) -> None:
    org, _ = registry.organisations.create(SYSTEM, org_body())
    with pytest.raises(Duplicate) as exc:
        registry.organisations.create(SYSTEM, org_body(legalName="Other Ltd"))
    assert exc.value.status == 409
    assert exc.value.extensions["existingId"] == registry.iris.identifier(org)


def test_update_needs_a_current_etag(registry: Registry) -> None:
    org, graph = registry.organisations.create(SYSTEM, org_body())
    with pytest.raises(PreconditionRequired):
        registry.organisations.update(SYSTEM, str(org), {"tradingName": "Fen"}, None)
    with pytest.raises(PreconditionFailed):
        registry.organisations.update(SYSTEM, str(org), {"tradingName": "Fen"}, '"stale"')
    _, after = registry.organisations.update(SYSTEM, str(org), {"tradingName": "Fen", "vatNumber": None},
                                             etag(graph))
    doc = registry.context.write(after, org)
    assert doc["tradingName"] == "Fen" and "vatNumber" not in doc and doc["status"] == "Active"
    with pytest.raises(Unprocessable):
        registry.organisations.update(SYSTEM, str(org), {"status": "Suspended"}, etag(after))
    with pytest.raises(ValidationFailed):
        registry.organisations.update(SYSTEM, str(org), {"legalName": ""}, etag(after))


@pytest.mark.parametrize(("path", "allowed"), [
    (["Active"], True), (["Withdrawn"], True), (["Suspended"], False),
])
def test_pending_transitions(registry: Registry, path: list[str], allowed: bool) -> None:
    org, _ = registry.organisations.create(APPLICANT, org_body())
    if allowed:
        registry.organisations.set_status(SYSTEM, str(org), path[0], "checked")
    else:
        with pytest.raises(Conflict):
            registry.organisations.set_status(SYSTEM, str(org), path[0], "checked")


def test_active_transitions(registry: Registry) -> None:
    org, _ = registry.organisations.create(SYSTEM, org_body())
    with pytest.raises(Unprocessable):
        registry.organisations.set_status(SYSTEM, str(org), "Suspended", None)
    registry.organisations.set_status(SYSTEM, str(org), "Suspended", "late returns")
    registry.organisations.set_status(SYSTEM, str(org), "Active", "reinstated")
    registry.organisations.set_status(SYSTEM, str(org), "Withdrawn", "left the market")
    with pytest.raises(Conflict):
        registry.organisations.set_status(SYSTEM, str(org), "Active", "again")


def test_only_the_admin_changes_status(registry: Registry) -> None:
    org, _ = registry.organisations.create(SYSTEM, org_body())
    own = Principal(role="fsp", subject="x", org=org, org_admin=True)
    with pytest.raises(Forbidden):
        registry.organisations.set_status(own, str(org), "Suspended", "no")
    other = registry.iris.record("organisations", "00000000-0000-4000-8000-000000000000")
    stranger = Principal(role="fsp", subject="y", org=other)
    with pytest.raises(Forbidden):  # the role never may: refused alike for every ID, so nothing leaks
        registry.organisations.set_status(stranger, str(org), "Suspended", "no")
    with pytest.raises(NotFound):  # the role may update its own, so another's is hidden
        registry.organisations.update(stranger, str(org), {"tradingName": "x"}, "*")
    with pytest.raises(NotFound):
        registry.organisations.get(stranger, str(org))


def test_deregister_deactivates_users_and_revokes_delegations(registry: Registry) -> None:
    fsp, _ = registry.organisations.create(SYSTEM, org_body())
    platform, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="07654321", roles=["PLATFORM"],
                                                                 vatNumber=None))
    user, _ = registry.users.create(SYSTEM, str(fsp), {"name": "Ann Fen", "email": "ann@fen.example",
                                                       "roles": ["ORG_ADMIN"]})
    delegation, _ = registry.platforms.create_delegation(SYSTEM, str(fsp), {
        "platform": registry.iris.identifier(platform), "scopes": ["organisation.read"],
        "validFrom": "2026-01-01T00:00:00Z"})
    registry.organisations.deregister(SYSTEM, str(fsp), "left")
    assert registry.context.write(registry.organisations.get(SYSTEM, str(fsp))[1], fsp)["status"] == "Inactive"
    assert registry.context.write(registry.users.get(SYSTEM, str(user))[1], user)["status"] == "Inactive"
    delegations = dict(registry.platforms.list_delegations(SYSTEM, str(fsp)))
    assert registry.context.write(delegations[delegation], delegation)["status"] == "Revoked"
