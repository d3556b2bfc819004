"""Every mutation path writes exactly one audit event, in the audit graph (``{base}graph/audit``), with the
right content; refused requests write none; reads of restricted data write a lighter event.

For each path the test counts the ``fmar:AuditEvent``s of the audit graph before and after, requires exactly
one new one, and reads it back: ``fmar:operation``; ``fmar:record`` (the records changed);
``prov:startedAtTime``; who asked (``fmar:actingRole``, ``fmar:tokenSubject``, ``prov:wasAssociatedWith``
for a user's token, ``fmar:agentOrganisation``, and for a platform acting On-Behalf-Of an FSP
``fmar:onBehalfOf`` and ``fmar:underDelegation``); why (``fmar:reason``, ``fmar:justification``); the
``X-Request-ID`` the test sent (``fmar:requestId``; the middleware echoes it and the routes pass it on); and
the change set (``fmar:removedTriples`` / ``fmar:addedTriples``, or their ``…Deflated`` forms, read with
:func:`fmar.audit.events.change_set_of`), which must hold the triples the request changed and never a client
secret. Only those predicates are read, so predicates an event gains (a hash chain's ``fmar:sequence``,
``fmar:previousHash``, ``fmar:eventHash``) change nothing here.

Inventory
---------
HTTP routes that may change data (``@router.post|patch|put|delete`` in ``src/fmar/api/routes/``; checked
against the OpenAPI paths by ``test_the_inventory_names_every_route_that_may_change_data``):

| route                                                              | ``fmar:operation``                     |
|--------------------------------------------------------------------|----------------------------------------|
| ``POST /organisations``                                            | ``organisation.create``                |
| ``PATCH /organisations/{org_id}``                                  | ``organisation.update``                |
| ``POST /organisations/{org_id}/status``                            | ``organisation.status``                |
| ``POST /organisations/{org_id}/deregister``                        | ``organisation.deregister`` (one event |
|                                                                    | naming the organisation and each user, |
|                                                                    | client and delegation it closes)       |
| ``POST /organisations/{org_id}/users``                             | ``user.create``                        |
| ``POST /users/{user_id}/activate``                                 | ``user.status``                        |
| ``POST /users/{user_id}/deactivate``                               | ``user.status``                        |
| ``POST /organisations/{org_id}/clients``                           | ``client.create``                      |
| ``POST /organisations/{org_id}/clients/{client_id}/revoke``        | ``client.revoke``                      |
| ``POST /organisations/{org_id}/delegations``                       | ``delegation.create``                  |
| ``POST /organisations/{org_id}/delegations/{delegation_id}/revoke`` | ``delegation.revoke``                 |
| ``POST /assets``                                                   | ``asset.create``                       |
| ``POST /assets/bulk``                                              | ``asset.create`` (one event a batch,   |
|                                                                    | naming every record it created)        |
| ``PATCH /assets/{asset_id}``                                       | ``asset.update``                       |
| ``POST /assets/{asset_id}/validation``                             | ``asset.validate``                     |
| ``POST /assets/{asset_id}/deregister``                             | ``asset.deregister``                   |
| ``PUT /categories/{category_code}``                                | ``category.update``                    |
| ``POST /categories/{category_code}/deprecate``                     | ``category.deprecate``                 |
| ``POST /sparql/update``                                            | ``sparql.update`` (``fmar:sparqlUpdate``) |
| ``POST /sparql``, an update (``application/sparql-update``, ``update=``) | ``sparql.update``                |
| ``POST /sparql``, a query                                          | ``sparql.query`` (a read, below)       |
| ``POST /auth/token``                                               | none: issues a token, writes nothing   |

Reads of restricted data (``WritePath.log_read``: who, what (``fmar:reason``), when; no records, empty
change sets):

| route                                                              | ``fmar:operation``                     |
|--------------------------------------------------------------------|----------------------------------------|
| ``GET /assets/export``                                             | ``asset.export``                       |
| ``GET|POST /sparql``, a query over restricted graphs               | ``sparql.query``                       |
| ``GET /store?graph=``, a restricted graph                          | ``store.read``                         |
| ``GET /views/assets``, showing restricted facts                    | ``view.read``                          |

Service and command-line paths (every write of ``src/fmar`` goes through ``WritePath._write`` → ``store.write``,
or ``load_graph`` → ``store.replace_graph``, or ``run_update`` → ``store.run_update``):

| path                                                   | ``fmar:operation``                               |
|--------------------------------------------------------|--------------------------------------------------|
| ``WritePath.commit``, called by                        | each operation of the first table (but           |
| ``spum/organisations.py``, ``spum/users.py``,          | ``asset.create`` and ``sparql.update``): one     |
| ``spum/platforms.py``, ``arm/assets.py``,              | event a ``Change``                               |
| ``arm/categories.py``                                  |                                                  |
| ``WritePath.commit_batch`` (``arm/registration``)      | ``asset.create``: one event a batch (a single    |
|                                                        | registration is a batch of one)                  |
| ``WritePath.run_update`` → ``store.run_update``        | ``sparql.update``                                |
| (``sparql/endpoint.py``)                               |                                                  |
| ``WritePath.log_read``                                 | ``asset.export``, ``sparql.query``,              |
| (``arm/export.py``, ``sparql/endpoint.py``, ``views``) | ``store.read``, ``view.read``                    |
| ``fmar import FILE --org FSP`` (``Registrations.run``) | ``asset.create``, one event a batch, its         |
|                                                        | ``fmar:requestId`` ``import:{hash}-{org}:{last}``|
| ``fmar export`` (``Export.stream``)                    | ``asset.export``                                 |
| ``fmar init --demo`` (``demo.seed``, the services)     | ``organisation.create``, ``user.create``,        |
|                                                        | ``client.create``, ``delegation.create``,        |
|                                                        | ``asset.create``                                 |
| ``fmar init``: the reference graphs                    | ``reference.load``, one event a graph whose files|
| (``bootstrap.load_reference`` → ``load_graph``)        | changed (``tests/audit/test_reference_load.py``) |
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, XSD
from rdflib.term import Node
from typer.testing import CliRunner

from fmar.access.principal import SYSTEM
from fmar.api.app import create_app
from fmar.arm.generator import generate
from fmar.audit.events import change_set_of
from fmar.cli import app as cli
from fmar.config import Settings
from fmar.iris import FMAR, PROV, code
from fmar.registry import Registry, build
from fmar.validation.shacl import SH
from tests.api.conftest import World
from tests.conftest import asset_body, mpan, org_body
from tests.rdf_parse import parse_nquads

# ---------------------------------------------------------------------------------------------- helpers

Quad = tuple[Any, Any, Any, Any]
PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#>\n"
CHANGE_SETS = {FMAR.removedTriples, FMAR.removedTriplesDeflated, FMAR.addedTriples, FMAR.addedTriplesDeflated}
BESS_SHAPE = URIRef("https://w3id.org/fmar/shapes/category/BESS")
NDJSON = {"Content-Type": "application/x-ndjson"}
TURTLE = {"Content-Type": "text/turtle"}
SPARQL_UPDATE = {"Content-Type": "application/sparql-update"}
SPARQL_QUERY = {"Content-Type": "application/sparql-query"}
#: Every delegable operation the tests let a platform perform for an FSP.
PLATFORM_SCOPES = ["organisation.read", "organisation.update", "asset.create", "asset.list", "asset.read",
                   "asset.update", "asset.deregister", "asset.export", "sparql.query"]

_numbers = count(20_000_000)
_request_ids = count(1)


@pytest.fixture
def world(registry: Registry) -> Iterator[World]:
    with TestClient(create_app(registry)) as client:
        yield World(registry, client)


def audit_graph(registry: Registry) -> URIRef:
    return registry.iris.graph("audit")


def events(registry: Registry) -> set[URIRef]:
    """The audit events in the audit graph."""
    rows = registry.store.select(PREFIXES + f"SELECT ?e WHERE {{ GRAPH <{audit_graph(registry)}> {{ ?e a fmar:AuditEvent }} }}")
    return {URIRef(str(row["e"])) for row in rows}


@dataclass(frozen=True)
class Event:
    """One audit event as stored: its facts (change sets aside) and its change sets as N-Quads text."""

    iri: URIRef
    facts: dict[Node, list[Node]]
    removed_text: str
    added_text: str

    def value(self, predicate: URIRef) -> Node | None:
        found = self.facts.get(predicate, [])
        assert len(found) <= 1, f"{predicate} has {len(found)} values on {self.iri}: {found}"
        return found[0] if found else None

    def text(self, predicate: URIRef) -> str | None:
        found = self.value(predicate)
        return None if found is None else str(found)

    @property
    def operation(self) -> str | None:
        return self.text(FMAR.operation)

    @property
    def records(self) -> set[Node]:
        return set(self.facts.get(FMAR.record, []))

    @property
    def removed(self) -> set[Quad]:
        return parse_nquads(self.removed_text)

    @property
    def added(self) -> set[Quad]:
        return parse_nquads(self.added_text)


def event_facts(registry: Registry, event: URIRef) -> Event:
    """An event's facts, read from the audit graph (and nowhere else)."""
    audit = audit_graph(registry)
    elsewhere = registry.store.select(f"SELECT ?g WHERE {{ GRAPH ?g {{ <{event}> ?p ?o }} FILTER (?g != <{audit}>) }}")
    assert not elsewhere, f"the event {event} has facts outside the audit graph: {elsewhere}"
    facts: dict[Node, list[Node]] = {}
    change: dict[URIRef, list[str]] = {FMAR.removedTriples: [], FMAR.addedTriples: []}
    for row in registry.store.select(f"SELECT ?p ?o WHERE {{ GRAPH <{audit}> {{ <{event}> ?p ?o }} }}"):
        predicate, value = row["p"], row["o"]
        if predicate in CHANGE_SETS:
            assert isinstance(predicate, URIRef) and isinstance(value, Literal)
            plain, text = change_set_of(predicate, value)
            change[plain].append(text)
        else:
            facts.setdefault(predicate, []).append(value)
    for plain, texts in change.items():
        assert len(texts) <= 1, f"{event} holds {len(texts)} {plain} change sets"
    return Event(event, facts, "".join(change[FMAR.removedTriples]), "".join(change[FMAR.addedTriples]))


def new_events(registry: Registry, before: set[URIRef]) -> list[Event]:
    """The events written since ``before`` (none may have gone)."""
    now = events(registry)
    assert before <= now, "audit events disappeared"
    return [event_facts(registry, e) for e in sorted(now - before)]


def new_event(registry: Registry, before: set[URIRef]) -> Event:
    """The one event written since ``before``."""
    fresh = new_events(registry, before)
    assert len(fresh) == 1, f"expected exactly one new audit event, found {len(fresh)}: {[e.operation for e in fresh]}"
    return fresh[0]


@dataclass(frozen=True)
class Caller:
    """Request headers, and what the audit event must say of the caller."""

    headers: dict[str, str]
    role: str
    subject: str
    user: URIRef | None = None
    agent_org: URIRef | None = None
    on_behalf_of: URIRef | None = None
    delegation: URIRef | None = None


def iri(world: World, collection: str, identifier: str) -> URIRef:
    return world.registry.iris.record(collection, identifier)


def user_of(world: World, role: str, org: str, *user_roles: str) -> Caller:
    """A registered user of ``org`` with ``user_roles``, calling with a ``role`` token naming them."""
    user = world.user(org, *user_roles)
    token = world.token(role, org, subject=user)
    return Caller({"Authorization": f"Bearer {token}"}, role, user, iri(world, "users", user),
                  iri(world, "organisations", org))


def operator(world: World, role: str, org: str | None = None) -> Caller:
    """A token for the organisation itself (or, for the admin, for no organisation): no user named."""
    subject = f"operator-{role}"
    token = world.token(role, org, subject=subject)
    return Caller({"Authorization": f"Bearer {token}"}, role, subject, None,
                  iri(world, "organisations", org) if org else None)


def platform_for(world: World, platform: str, fsp: str, scopes: list[str] | None = None) -> Caller:
    """A platform's client-credentials token, acting On-Behalf-Of ``fsp`` under a new delegation."""
    delegation = world.delegation(fsp, platform, scopes or PLATFORM_SCOPES)
    client_id, secret = world.client_credentials(platform)
    grant = world.client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert grant.status_code == 200, grant.text
    return Caller({"Authorization": f"Bearer {grant.json()['access_token']}", "On-Behalf-Of": fsp}, "platform",
                  client_id, None, iri(world, "organisations", platform), iri(world, "organisations", fsp),
                  iri(world, "delegations", delegation))


def assert_who_and_when(event: Event, caller: Caller) -> None:
    started = event.value(PROV.startedAtTime)
    assert isinstance(started, Literal) and started.datatype == XSD.dateTime, started
    assert abs(datetime.now(UTC) - datetime.fromisoformat(str(started))) < timedelta(minutes=5)
    assert event.text(FMAR.actingRole) == caller.role
    assert event.text(FMAR.tokenSubject) == caller.subject
    assert event.value(PROV.wasAssociatedWith) == caller.user
    assert event.value(FMAR.agentOrganisation) == caller.agent_org
    assert event.value(FMAR.onBehalfOf) == caller.on_behalf_of
    assert event.value(FMAR.underDelegation) == caller.delegation


def audited(world: World, caller: Caller, method: str, path: str, status: int, operation: str,
            **kwargs: Any) -> tuple[httpx.Response, Event]:
    """Send a request with an ``X-Request-ID``; it must write exactly one event, of ``operation``, naming the
    caller and the request id. Returns the response and the event."""
    request_id = f"audit-{next(_request_ids)}-{uuid4().hex[:8]}"
    headers = {**caller.headers, "X-Request-ID": request_id, **kwargs.pop("headers", {})}
    before = events(world.registry)
    response = world.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"] == request_id
    event = new_event(world.registry, before)
    assert event.operation == operation
    assert_who_and_when(event, caller)
    assert event.text(FMAR.requestId) == request_id
    return response, event


def objects(quads: set[Quad], subject: Node, predicate: URIRef) -> set[str]:
    """The values (as text) a change set gives ``subject``'s ``predicate``."""
    return {str(o) for s, p, o, _ in quads if s == subject and p == predicate}


def assert_no_secrets(event: Event, *secrets: str) -> None:
    for text in (event.removed_text, event.added_text):
        assert "sha256$" not in text
        for secret in secrets:
            assert secret not in text
    hashes = {str(o) for _, p, o, _ in event.removed | event.added if p == FMAR.secretHash}
    assert hashes <= {"[redacted]"}


def fresh_asset_body(**overrides: Any) -> dict[str, Any]:
    """A valid BESS submission with an MPAN and serial number no other test uses."""
    n = next(_numbers)
    return asset_body(None, **{"importMPAN": mpan(f"10{n:010d}"), "serialNumber": f"AUD-{n}", **overrides})


def org_graph(world: World, org: str) -> URIRef:
    return world.registry.iris.org_graph(iri(world, "organisations", org))


def area_graph(world: World, org: str, area: str = "UKPN_EPN") -> URIRef:
    return URIRef(f"{org_graph(world, org)}/area/{area}")


def bess_shape(world: World, max_storage_kwh: int) -> str:
    """The current BESS shape with one more rule (storage at most ``max_storage_kwh``), as Turtle."""
    graph = Graph().parse(data=world.client.get("/categories/BESS").text, format="turtle")
    rule = BNode()
    graph.add((BESS_SHAPE, SH.property, rule))
    graph.add((rule, SH.path, FMAR.storageCapacity))
    graph.add((rule, SH.maxInclusive, Literal(str(max_storage_kwh), datatype=XSD.decimal)))
    graph.add((rule, SH.message, Literal(f"storageCapacity must be at most {max_storage_kwh} kWh")))
    return graph.serialize(format="turtle")


# ---------------------------------------------------------------------------------------------- inventory

#: (method, path) of every route that may change data → the operation its event names (None: writes nothing).
MUTATING_ROUTES: dict[tuple[str, str], str | None] = {
    ("POST", "/organisations"): "organisation.create",
    ("PATCH", "/organisations/{org_id}"): "organisation.update",
    ("POST", "/organisations/{org_id}/status"): "organisation.status",
    ("POST", "/organisations/{org_id}/deregister"): "organisation.deregister",
    ("POST", "/organisations/{org_id}/users"): "user.create",
    ("POST", "/users/{user_id}/activate"): "user.status",
    ("POST", "/users/{user_id}/deactivate"): "user.status",
    ("POST", "/organisations/{org_id}/clients"): "client.create",
    ("POST", "/organisations/{org_id}/clients/{client_id}/revoke"): "client.revoke",
    ("POST", "/organisations/{org_id}/delegations"): "delegation.create",
    ("POST", "/organisations/{org_id}/delegations/{delegation_id}/revoke"): "delegation.revoke",
    ("POST", "/assets"): "asset.create",
    ("POST", "/assets/bulk"): "asset.create",
    ("PATCH", "/assets/{asset_id}"): "asset.update",
    ("POST", "/assets/{asset_id}/validation"): "asset.validate",
    ("POST", "/assets/{asset_id}/deregister"): "asset.deregister",
    ("PUT", "/categories/{category_code}"): "category.update",
    ("POST", "/categories/{category_code}/deprecate"): "category.deprecate",
    ("POST", "/sparql/update"): "sparql.update",
    ("POST", "/sparql"): "sparql.update",  # an update; a query is a read (sparql.query)
    ("POST", "/auth/token"): None,
}


def test_the_inventory_names_every_route_that_may_change_data(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    found = {(method.upper(), re.sub(r":\w+}", "}", path)) for path, operations in paths.items()
             for method in operations if method in {"post", "put", "patch", "delete"}}
    assert found == set(MUTATING_ROUTES)


# ---------------------------------------------------------------------------------------------- organisations

@pytest.mark.parametrize(("role", "status"), [("admin", "Active"), ("applicant", "PendingApproval")])
def test_registering_an_organisation(world: World, role: str, status: str) -> None:
    caller = operator(world, role)
    response, event = audited(world, caller, "POST", "/organisations", 201, "organisation.create",
                              json=org_body(justification="checked against the register by phone"))
    org = URIRef(response.json()["id"])
    assert event.records == {org}
    assert event.text(FMAR.justification) == "checked against the register by phone"
    assert objects(event.added, org, FMAR.legalName) == {"Fenland Flex Ltd"}
    assert objects(event.added, org, FMAR.status) == {str(code("OrganisationStatus", status))}
    assert {g for *_, g in event.added} == {world.registry.iris.org_graph(org)}
    assert event.removed == set()


def test_updating_an_organisation_records_the_old_and_the_new_value(world: World) -> None:
    fsp = world.org("FSP", tradingName="Fen Power")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    etag = world.client.get(f"/organisations/{fsp}", headers=caller.headers).headers["etag"]
    _, event = audited(world, caller, "PATCH", f"/organisations/{fsp}", 200, "organisation.update",
                       json={"tradingName": "Fen Flex", "reason": "rebrand", "justification": "board minute 12"},
                       headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
    org = iri(world, "organisations", fsp)
    assert event.records == {org}
    assert event.text(FMAR.reason) == "rebrand"
    assert event.text(FMAR.justification) == "board minute 12"
    assert objects(event.removed, org, FMAR.tradingName) == {"Fen Power"}
    assert objects(event.added, org, FMAR.tradingName) == {"Fen Flex"}
    assert {g for *_, g in event.removed | event.added} == {org_graph(world, fsp)}
    assert objects(event.added | event.removed, org, FMAR.legalName) == set()  # unchanged: not in the change set


def test_changing_an_organisations_status(world: World) -> None:
    fsp = world.org("FSP")
    _, event = audited(world, operator(world, "admin"), "POST", f"/organisations/{fsp}/status", 200,
                       "organisation.status", json={"status": "Suspended", "reason": "late data returns"})
    org = iri(world, "organisations", fsp)
    assert event.records == {org}
    assert event.text(FMAR.reason) == "late data returns"
    assert objects(event.removed, org, FMAR.status) == {str(code("OrganisationStatus", "Active"))}
    assert objects(event.added, org, FMAR.status) == {str(code("OrganisationStatus", "Suspended"))}


def test_deregistering_an_organisation_is_one_event_naming_every_member_it_closes(world: World) -> None:
    fsp, platform = world.org("FSP"), world.org("PLATFORM")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    viewer = world.user(fsp, "DATA_VIEWER")
    delegation = world.delegation(fsp, platform, ["organisation.read"])
    _, event = audited(world, caller, "POST", f"/organisations/{fsp}/deregister", 200, "organisation.deregister",
                       json={"reason": "leaving the market"})
    org, viewer_iri, delegation_iri = (iri(world, "organisations", fsp), iri(world, "users", viewer),
                                       iri(world, "delegations", delegation))
    assert event.records == {org, caller.user, viewer_iri, delegation_iri}
    assert event.text(FMAR.reason) == "leaving the market"
    assert objects(event.removed, org, FMAR.status) == {str(code("OrganisationStatus", "Active"))}
    assert objects(event.added, org, FMAR.status) == {str(code("OrganisationStatus", "Inactive"))}
    for user in (iri(world, "users", caller.subject), viewer_iri):
        assert objects(event.added, user, FMAR.status) == {str(code("UserStatus", "Inactive"))}
    assert objects(event.added, delegation_iri, FMAR.status) == {str(code("CredentialStatus", "Revoked"))}


def test_deregistering_a_platform_revokes_its_clients_and_reveals_no_secret(world: World) -> None:
    platform, fsp = world.org("PLATFORM"), world.org("FSP")
    client_id, secret = world.client_credentials(platform)
    delegation = world.delegation(fsp, platform, ["organisation.read"])
    _, event = audited(world, operator(world, "admin"), "POST", f"/organisations/{platform}/deregister", 200,
                       "organisation.deregister", json={"reason": "platform closed"})
    client = iri(world, "clients", client_id)
    assert event.records == {iri(world, "organisations", platform), client, iri(world, "delegations", delegation)}
    assert objects(event.added, client, FMAR.status) == {str(code("CredentialStatus", "Revoked"))}
    assert_no_secrets(event, secret)


# ---------------------------------------------------------------------------------------------- users

def test_registering_a_user(world: World) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    response, event = audited(world, caller, "POST", f"/organisations/{fsp}/users", 201, "user.create",
                              json={"name": "Cara Dyke", "email": "cara@fen.example", "roles": ["ASSET_MANAGER"]})
    user = URIRef(response.json()["id"])
    assert event.records == {user}
    assert objects(event.added, user, FMAR.email) == {"cara@fen.example"}
    assert objects(event.added, user, FMAR.memberOf) == {str(iri(world, "organisations", fsp))}
    assert event.removed == set()


@pytest.mark.parametrize(("action", "was", "becomes", "reason"), [
    ("deactivate", "Active", "Inactive", "left the company"),
    ("activate", "Inactive", "Active", "came back"),
])
def test_activating_and_deactivating_a_user(world: World, action: str, was: str, becomes: str, reason: str) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    user = world.user(fsp, "DATA_VIEWER")
    if was == "Inactive":
        world.registry.users.set_active(SYSTEM, user, False, None)
    _, event = audited(world, caller, "POST", f"/users/{user}/{action}", 200, "user.status", json={"reason": reason})
    user_iri = iri(world, "users", user)
    assert event.records == {user_iri}
    assert event.text(FMAR.reason) == reason
    assert objects(event.removed, user_iri, FMAR.status) == {str(code("UserStatus", was))}
    assert objects(event.added, user_iri, FMAR.status) == {str(code("UserStatus", becomes))}


# ---------------------------------------------------------------------------------------------- platforms

def test_issuing_client_credentials_keeps_the_secret_out_of_the_change_set(world: World) -> None:
    platform = world.org("PLATFORM")
    caller = user_of(world, "platform", platform, "ORG_ADMIN")
    response, event = audited(world, caller, "POST", f"/organisations/{platform}/clients", 201, "client.create",
                              json={"name": "integration"})
    client, secret = URIRef(response.json()["id"]), response.json()["client_secret"]
    assert event.records == {client}
    assert objects(event.added, client, FMAR.clientOf) == {str(iri(world, "organisations", platform))}
    assert objects(event.added, client, FMAR.secretHash) == {"[redacted]"}
    assert_no_secrets(event, secret)


def test_revoking_a_client(world: World) -> None:
    platform = world.org("PLATFORM")
    caller = user_of(world, "platform", platform, "ORG_ADMIN")
    client_id, secret = world.client_credentials(platform)
    _, event = audited(world, caller, "POST", f"/organisations/{platform}/clients/{client_id}/revoke", 200,
                       "client.revoke", json={"reason": "leaked"})
    client = iri(world, "clients", client_id)
    assert event.records == {client}
    assert event.text(FMAR.reason) == "leaked"
    assert objects(event.removed, client, FMAR.status) == {str(code("CredentialStatus", "Active"))}
    assert objects(event.added, client, FMAR.status) == {str(code("CredentialStatus", "Revoked"))}
    assert_no_secrets(event, secret)


def test_granting_a_delegation(world: World) -> None:
    fsp, platform = world.org("FSP"), world.org("PLATFORM")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    response, event = audited(world, caller, "POST", f"/organisations/{fsp}/delegations", 201, "delegation.create",
                              json={"platform": platform, "scopes": ["organisation.read", "asset.read"],
                                    "validFrom": "2026-01-01T00:00:00Z"})
    delegation = URIRef(response.json()["id"])
    assert event.records == {delegation}
    assert objects(event.added, delegation, FMAR.platform) == {str(iri(world, "organisations", platform))}
    assert objects(event.added, delegation, FMAR.delegatedBy) == {str(iri(world, "organisations", fsp))}
    assert objects(event.added, delegation, FMAR.scope) == {"organisation.read", "asset.read"}


def test_revoking_a_delegation(world: World) -> None:
    fsp, platform = world.org("FSP"), world.org("PLATFORM")
    caller = user_of(world, "fsp", fsp, "ORG_ADMIN")
    delegation = world.delegation(fsp, platform, ["organisation.read"])
    _, event = audited(world, caller, "POST", f"/organisations/{fsp}/delegations/{delegation}/revoke", 200,
                       "delegation.revoke", json={"reason": "contract ended"})
    delegation_iri = iri(world, "delegations", delegation)
    assert event.records == {delegation_iri}
    assert event.text(FMAR.reason) == "contract ended"
    assert objects(event.removed, delegation_iri, FMAR.status) == {str(code("CredentialStatus", "Active"))}
    assert objects(event.added, delegation_iri, FMAR.status) == {str(code("CredentialStatus", "Revoked"))}


# ---------------------------------------------------------------------------------------------- assets

def test_registering_an_asset(world: World) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ASSET_MANAGER")
    body = fresh_asset_body(justification="installer certificate on file")
    response, event = audited(world, caller, "POST", "/assets", 201, "asset.create", json=body)
    asset = URIRef(response.json()["id"])
    assert event.records == {asset}
    assert event.text(FMAR.justification) == "installer certificate on file"
    assert objects(event.added, asset, FMAR.importMPAN) == {body["importMPAN"]}
    assert objects(event.added, asset, FMAR.serialNumber) == {body["serialNumber"]}
    assert objects(event.added, asset, FMAR.status) == {str(code("AssetStatus", "PendingValidation"))}
    assert (asset, FMAR.importMPAN, Literal(body["importMPAN"]), area_graph(world, fsp)) in event.added
    assert event.removed == set()


def test_updating_an_asset_records_the_old_and_the_new_values(world: World) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ASSET_MANAGER")
    asset_id = world.asset(fsp)  # "Home battery 1", 5 kW
    etag = world.client.get(f"/assets/{asset_id}", headers=caller.headers).headers["etag"]
    _, event = audited(world, caller, "PATCH", f"/assets/{asset_id}", 200, "asset.update",
                       json={"assetName": "Garage battery", "ratedCapacity": 7, "reason": "inverter upgrade"},
                       headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"})
    asset = iri(world, "assets", asset_id)
    assert event.records == {asset}
    assert event.text(FMAR.reason) == "inverter upgrade"
    assert objects(event.removed, asset, FMAR.assetName) == {"Home battery 1"}
    assert objects(event.added, asset, FMAR.assetName) == {"Garage battery"}
    assert objects(event.removed, asset, FMAR.ratedCapacity) == {"5"}
    assert objects(event.added, asset, FMAR.ratedCapacity) == {"7"}
    assert {str(m) for m in event.facts.get(FMAR.materialChange, [])} == {"ratedCapacity"}


def test_setting_an_assets_validation_status(world: World) -> None:
    fsp, dno = world.org("FSP"), world.org_for("so")
    caller = user_of(world, "so", dno, "DATA_VIEWER")
    asset_id = world.asset(fsp)
    _, event = audited(world, caller, "POST", f"/assets/{asset_id}/validation", 200, "asset.validate",
                       json={"status": "Verified", "note": "installer photo checked"})
    asset = iri(world, "assets", asset_id)
    assert event.records == {asset}
    assert event.text(FMAR.reason) == "installer photo checked"
    assert objects(event.removed, asset, FMAR.status) == {str(code("AssetStatus", "PendingValidation"))}
    assert objects(event.added, asset, FMAR.status) == {str(code("AssetStatus", "Verified"))}
    assert objects(event.added, asset, FMAR.statusNote) == {"installer photo checked"}


@pytest.mark.parametrize("note", ["contract ended in March", None], ids=["with-note", "without-note"])
def test_deregistering_an_asset(world: World, note: str | None) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ASSET_MANAGER")
    asset_id = world.asset(fsp)
    body = {"reason": "END_OF_CONTRACT", **({"note": note} if note else {})}
    _, event = audited(world, caller, "POST", f"/assets/{asset_id}/deregister", 200, "asset.deregister", json=body)
    asset = iri(world, "assets", asset_id)
    assert event.records == {asset}
    assert event.text(FMAR.reason) == (f"END_OF_CONTRACT: {note}" if note else "END_OF_CONTRACT")
    assert objects(event.added, asset, FMAR.status) == {str(code("AssetStatus", "Deregistered"))}
    assert objects(event.added, asset, FMAR.deregistrationReason) == {str(code("DeregistrationReason", "END_OF_CONTRACT"))}
    assert objects(event.removed, asset, FMAR.status) == {str(code("AssetStatus", "PendingValidation"))}


def test_a_bulk_upload_is_one_event_naming_every_record_it_created(world: World) -> None:
    fsp = world.org("FSP")
    caller = user_of(world, "fsp", fsp, "ASSET_MANAGER")
    bodies = [json.dumps(b) for b in generate(60, seed=11)]  # big enough for a deflated change set
    bodies[3] = "{not json"
    bodies[7] = json.dumps({**json.loads(bodies[7]), "justification": "MPAN confirmed with the supplier"})
    response, event = audited(world, caller, "POST", "/assets/bulk", 200, "asset.create",
                              content=("\n".join(bodies) + "\n").encode(), headers=NDJSON)
    reports = response.json()["records"]
    created = {iri(world, "assets", r["id"]) for r in reports if r["status"] == "created"}
    assert len(created) == 59 and [r["index"] for r in reports if r["status"] != "created"] == [3]
    assert event.records == created
    assert event.text(FMAR.justification) == "MPAN confirmed with the supplier"
    assert {s for s, *_ in event.added if "#" not in str(s)} == created
    assert all(objects(event.added, a, FMAR.status) == {str(code("AssetStatus", "PendingValidation"))} for a in created)
    assert event.removed == set()


# ---------------------------------------------------------------------------------------------- a platform for an FSP

def _organisation_update(world: World, fsp: str, asset: str) -> tuple[str, str, int, dict[str, Any]]:
    return "PATCH", f"/organisations/{fsp}", 200, {"json": {"tradingName": "Via Platform", "reason": "rebrand"},
                                                   "headers": {"If-Match": "*"}}


def _asset_create(world: World, fsp: str, asset: str) -> tuple[str, str, int, dict[str, Any]]:
    return "POST", "/assets", 201, {"json": fresh_asset_body(justification="registered by the platform")}


def _asset_update(world: World, fsp: str, asset: str) -> tuple[str, str, int, dict[str, Any]]:
    return "PATCH", f"/assets/{asset}", 200, {"json": {"assetName": "Renamed by platform", "reason": "site survey"},
                                               "headers": {"If-Match": "*"}}


def _asset_deregister(world: World, fsp: str, asset: str) -> tuple[str, str, int, dict[str, Any]]:
    return "POST", f"/assets/{asset}/deregister", 200, {"json": {"reason": "DECOMMISSIONED", "note": "removed"}}


Request = Callable[[World, str, str], tuple[str, str, int, dict[str, Any]]]


@pytest.mark.parametrize(("operation", "request_for", "why"), [
    ("organisation.update", _organisation_update, (FMAR.reason, "rebrand")),
    ("asset.create", _asset_create, (FMAR.justification, "registered by the platform")),
    ("asset.update", _asset_update, (FMAR.reason, "site survey")),
    ("asset.deregister", _asset_deregister, (FMAR.reason, "DECOMMISSIONED: removed")),
], ids=["organisation.update", "asset.create", "asset.update", "asset.deregister"])
def test_a_platform_acting_for_an_fsp_is_named_with_the_fsp_and_the_delegation(
        world: World, operation: str, request_for: Request, why: tuple[URIRef, str]) -> None:
    fsp, platform = world.org("FSP"), world.org("PLATFORM")
    asset = world.asset(fsp)
    caller = platform_for(world, platform, fsp)
    method, path, status, kwargs = request_for(world, fsp, asset)
    response, event = audited(world, caller, method, path, status, operation, **kwargs)
    record = URIRef(response.json()["id"])
    assert event.records == {record}
    assert event.text(why[0]) == why[1]
    assert event.value(FMAR.agentOrganisation) == iri(world, "organisations", platform)
    assert event.value(FMAR.onBehalfOf) == iri(world, "organisations", fsp)
    assert event.added, "the change set names what changed"
    assert {s for s, *_ in event.added | event.removed if "#" not in str(s)} == {record}


# ---------------------------------------------------------------------------------------------- categories

def test_publishing_a_category_version(world: World) -> None:
    shape = bess_shape(world, 1000)
    _, event = audited(world, operator(world, "admin"), "PUT", "/categories/BESS?reason=cap%20storage", 200,
                       "category.update", content=shape.encode(), headers=TURTLE)
    assert event.records == {BESS_SHAPE}
    assert event.text(FMAR.reason) == "cap storage"
    version = world.registry.iris.graph("category/BESS/v2")
    assert (BESS_SHAPE, OWL.versionInfo, Literal("2"), version) in event.added
    assert any(p == SH.message and str(o) == "storageCapacity must be at most 1000 kWh" and g == version
               for _, p, o, g in event.added)  # the new rule


def test_deprecating_a_category(world: World) -> None:
    _, event = audited(world, operator(world, "admin"), "POST", "/categories/BESS/deprecate", 200,
                       "category.deprecate", json={"reason": "superseded by BESS_V2"})
    assert event.records == {BESS_SHAPE}
    assert event.text(FMAR.reason) == "superseded by BESS_V2"
    assert objects(event.added, BESS_SHAPE, OWL.deprecated) == {"true"}


# ---------------------------------------------------------------------------------------------- SPARQL update

@pytest.mark.parametrize(("path", "form"), [("/sparql/update", False), ("/sparql", False), ("/sparql", True)],
                         ids=["update-endpoint", "sparql-endpoint", "sparql-endpoint-form"])
def test_an_admin_sparql_update_records_the_statement(world: World, path: str, form: bool) -> None:
    statement = "PREFIX ex: <http://example.org/>\nINSERT DATA { GRAPH ex:g { ex:s ex:p 42 } }"
    kwargs: dict[str, Any] = {"data": {"update": statement}} if form else {
        "content": statement.encode(), "headers": SPARQL_UPDATE}
    _, event = audited(world, operator(world, "admin"), "POST", path, 204, "sparql.update", **kwargs)
    assert event.text(FMAR.sparqlUpdate) == statement
    assert event.records == set()  # no registry record changed
    assert event.removed_text == ""
    assert event.added_text == ('<http://example.org/s> <http://example.org/p> '
                                '"42"^^<http://www.w3.org/2001/XMLSchema#integer> <http://example.org/g> .')
    assert world.registry.store.ask("ASK { GRAPH <http://example.org/g> { ?s ?p 42 } }")


def test_an_admin_sparql_update_of_a_record_names_it_with_its_change_set(world: World) -> None:
    fsp = world.org("FSP")
    asset = iri(world, "assets", world.asset(fsp))
    statement = (f"PREFIX fmar: <https://w3id.org/fmar#> DELETE {{ GRAPH ?g {{ <{asset}> fmar:assetName ?old }} }} "
                 f"INSERT {{ GRAPH ?g {{ <{asset}> fmar:assetName \"Fixed by SPARQL\" }} }} "
                 f"WHERE {{ GRAPH ?g {{ <{asset}> fmar:assetName ?old }} }}")
    response = world.client.post("/sparql/update", content=statement.encode(),
                                 headers={**world.auth("admin"), **SPARQL_UPDATE})
    assert response.status_code == 403  # a GRAPH variable in a template could reach the audit graph
    graph = str(world.registry.store.select(
        f"SELECT ?g WHERE {{ GRAPH ?g {{ <{asset}> <https://w3id.org/fmar#assetName> ?n }} }}")[0]["g"])
    statement = statement.replace("GRAPH ?g", f"GRAPH <{graph}>")
    _, event = audited(world, operator(world, "admin"), "POST", "/sparql/update", 204, "sparql.update",
                       content=statement.encode(), headers=SPARQL_UPDATE)
    assert event.records == {asset}
    assert objects(event.removed, asset, FMAR.assetName) == {"Home battery 1"}
    assert objects(event.added, asset, FMAR.assetName) == {"Fixed by SPARQL"}


# ---------------------------------------------------------------------------------------------- restricted reads

def _assert_a_read(event: Event, what: str) -> None:
    assert event.records == set()
    assert (event.removed_text, event.added_text) == ("", "")
    assert what in (event.text(FMAR.reason) or ""), event.text(FMAR.reason)


@pytest.mark.parametrize("by", ["fsp-user", "platform-for-fsp"])
def test_an_export_is_logged_as_a_read(world: World, by: str) -> None:
    fsp = world.org("FSP")
    world.asset(fsp)
    caller = user_of(world, "fsp", fsp, "DATA_VIEWER") if by == "fsp-user" else platform_for(
        world, world.org("PLATFORM"), fsp)
    _, event = audited(world, caller, "GET", "/assets/export?format=csv", 200, "asset.export")
    _assert_a_read(event, "format=csv")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_an_fsp_query_over_its_restricted_graph_is_logged(world: World, method: str) -> None:
    fsp = world.org("FSP")
    world.asset(fsp)
    caller = user_of(world, "fsp", fsp, "DATA_VIEWER")
    query = "PREFIX fmar: <https://w3id.org/fmar#> SELECT ?a ?mpan WHERE { ?a fmar:importMPAN ?mpan }"
    kwargs: dict[str, Any] = {"params": {"query": query}} if method == "GET" else {
        "content": query.encode(), "headers": SPARQL_QUERY}
    response, event = audited(world, caller, method, "/sparql", 200, "sparql.query", **kwargs)
    assert len(response.json()["results"]["bindings"]) == 1  # it did read the restricted MPAN
    _assert_a_read(event, query)


def test_reading_a_restricted_graph_is_logged(world: World) -> None:
    fsp = world.org("FSP")
    world.asset(fsp)
    caller = user_of(world, "fsp", fsp, "DATA_VIEWER")
    graph = area_graph(world, fsp)
    _, event = audited(world, caller, "GET", "/store", 200, "store.read", params={"graph": str(graph)})
    _assert_a_read(event, str(graph))


def test_the_asset_view_with_restricted_facts_is_logged(world: World) -> None:
    fsp = world.org("FSP")
    world.asset(fsp)
    caller = user_of(world, "fsp", fsp, "DATA_VIEWER")
    _, event = audited(world, caller, "GET", "/views/assets?assetCategory=BESS", 200, "view.read")
    _assert_a_read(event, "asset view")


def test_reads_of_public_data_and_token_grants_write_nothing(world: World) -> None:
    fsp, platform = world.org("FSP"), world.org("PLATFORM")
    world.asset(fsp)
    client_id, secret = world.client_credentials(platform)
    before, snapshot = events(world.registry), world.snapshot()
    query = "PREFIX fmar: <https://w3id.org/fmar#> SELECT ?a WHERE { ?a fmar:assetCategory ?c }"
    responses = [
        world.client.get("/sparql", params={"query": query}),
        world.client.get("/views/assets"),
        world.client.get("/categories/BESS"),
        world.client.get(f"/organisations/{fsp}", headers=world.auth("fsp", fsp)),
        world.client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)),
    ]
    assert [r.status_code for r in responses] == [200] * len(responses)
    assert events(world.registry) == before
    assert world.snapshot() == snapshot


# ---------------------------------------------------------------------------------------------- refusals

@dataclass
class Scene:
    """An FSP with an administrator, a viewer, a user and an asset; another FSP; the system admin."""

    world: World
    fsp: str
    etag: str
    company_number: str
    admin: Caller
    viewer: Caller
    user: str
    asset: str
    other: str
    system: Caller


@pytest.fixture
def scene(world: World) -> Scene:
    fsp = world.org("FSP")
    admin = user_of(world, "fsp", fsp, "ORG_ADMIN")
    org = iri(world, "organisations", fsp)
    graph, _ = world.registry.organisations.load(org)
    return Scene(world, fsp, world.client.get(f"/organisations/{fsp}", headers=admin.headers).headers["etag"],
                 str(graph.value(org, FMAR.companyNumber)), admin, user_of(world, "fsp", fsp, "DATA_VIEWER"),
                 world.user(fsp, "DATA_VIEWER"), world.asset(fsp), world.org("FSP"), operator(world, "admin"))


def _patch_org(s: Scene, caller: Caller, org: str, if_match: str | None) -> httpx.Response:
    headers = {**caller.headers, **({"If-Match": if_match} if if_match else {})}
    response: httpx.Response = s.world.client.patch(f"/organisations/{org}", json={"tradingName": "Refused"},
                                                    headers=headers)
    return response


REFUSALS: list[Any] = [
    pytest.param(lambda s: s.world.client.post("/organisations", headers=s.system.headers, json={
        k: v for k, v in org_body(companyNumber="87654321").items() if k != "legalName"}), 422,
        id="422-organisation-without-legal-name"),
    pytest.param(lambda s: s.world.client.post("/assets", headers=s.admin.headers, json=fresh_asset_body(ratedCapacity=0)),
                 422, id="422-asset-breaking-a-rule"),
    pytest.param(lambda s: s.world.client.post(f"/organisations/{s.fsp}/status", headers=s.system.headers,
                                               json={"status": "Suspended"}), 422, id="422-suspension-without-reason"),
    pytest.param(lambda s: s.world.client.post(f"/organisations/{s.fsp}/delegations", headers=s.admin.headers, json={
        "platform": s.other, "scopes": ["organisation.read"], "validFrom": "2026-01-01T00:00:00Z"}), 422,
        id="422-delegation-to-a-non-platform"),
    pytest.param(lambda s: _patch_org(s, s.viewer, s.fsp, s.etag), 403, id="403-data-viewer-updates-its-organisation"),
    pytest.param(lambda s: s.world.client.post("/sparql/update", headers={**s.admin.headers, **SPARQL_UPDATE},
                                               content=b"INSERT DATA { GRAPH <urn:g> { <urn:s> <urn:p> 1 } }"), 403,
                 id="403-fsp-runs-a-sparql-update"),
    pytest.param(lambda s: _patch_org(s, s.admin, s.other, "*"), 404, id="404-another-fsps-organisation"),
    pytest.param(lambda s: s.world.client.post(f"/users/{uuid4()}/deactivate", headers=s.system.headers), 404,
                 id="404-unknown-user"),
    pytest.param(lambda s: s.world.client.post("/organisations", headers=s.system.headers, json=org_body(
        companyNumber=s.company_number)), 409, id="409-duplicate-company-number"),
    pytest.param(lambda s: s.world.client.post(f"/users/{s.user}/activate", headers=s.admin.headers), 409,
                 id="409-user-already-active"),
    pytest.param(lambda s: s.world.client.post(f"/organisations/{s.fsp}/deregister", headers=s.admin.headers,
                                               json={"reason": "closing"}), 409,
                 id="409-deregistering-an-organisation-with-active-assets"),
    pytest.param(lambda s: s.world.client.put("/categories/BESS", headers={**s.system.headers, **TURTLE},
                                              content=bess_shape(s.world, 10).encode()), 409,
                 id="409-category-version-breaking-existing-assets"),
    pytest.param(lambda s: _patch_org(s, s.admin, s.fsp, '"stale"'), 412, id="412-stale-etag"),
    pytest.param(lambda s: _patch_org(s, s.admin, s.fsp, None), 428, id="428-no-if-match"),
    pytest.param(lambda s: s.world.client.post("/assets", json=fresh_asset_body()), 401, id="401-anonymous"),
    pytest.param(lambda s: s.world.client.post("/sparql/update", headers={**s.system.headers, **SPARQL_UPDATE},
                                               content=b"INSERT DATA { GRAPH <urn:x> { <urn:s> <urn:p> } }"), 400,
                 id="400-sparql-update-syntax-error"),
    pytest.param(lambda s: s.world.client.post("/assets/bulk", headers={**s.admin.headers, "Content-Type": "text/plain"},
                                               content=b"{}"), 415, id="415-bulk-in-another-media-type"),
    pytest.param(lambda s: s.world.client.post("/assets/bulk", headers={**s.admin.headers, **NDJSON},
                                               content=b'{not json\n{"assetName": "no category"}\n'), 200,
                 id="200-bulk-whose-every-record-is-rejected"),
]


@pytest.mark.parametrize(("send", "status"), REFUSALS)
def test_a_refused_request_writes_no_event(scene: Scene, send: Callable[[Scene], httpx.Response], status: int) -> None:
    before, snapshot = events(scene.world.registry), scene.world.snapshot()
    response = send(scene)
    assert response.status_code == status, response.text
    assert events(scene.world.registry) == before
    assert scene.world.snapshot() == snapshot


# ---------------------------------------------------------------------------------------------- the command line

runner = CliRunner()


def _initialised(tmp_path: Path, *options: str) -> Settings:
    data = tmp_path / "data"
    result = runner.invoke(cli, ["init", "--data-dir", str(data), *options])
    assert result.exit_code == 0, result.output
    return Settings(data_dir=data, base_iri=(data / "base-iri").read_text().strip())


def test_fmar_import_writes_one_event_per_batch_naming_every_record_of_it(tmp_path: Path) -> None:
    settings = _initialised(tmp_path)
    registry = build(settings)
    try:
        org, _ = registry.organisations.create(SYSTEM, org_body())
        fsp = registry.iris.identifier(org)
        before = events(registry)
    finally:
        registry.close()
    source, report = tmp_path / "assets.ndjson", tmp_path / "report.ndjson"
    bodies = [json.dumps(b) for b in generate(25, seed=3)]
    bodies[5] = "{not json"
    source.write_text("\n".join(bodies) + "\n")
    result = runner.invoke(cli, ["import", str(source), "--data-dir", str(settings.data_dir), "--org", fsp,
                                 "--batch", "10", "--report", str(report)])
    assert result.exit_code == 2, result.output  # one record was rejected
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    again = runner.invoke(cli, ["import", str(source), "--data-dir", str(settings.data_dir), "--org", fsp])
    assert again.exit_code == 0, again.output  # resumed: nothing left to import
    registry = build(settings)
    try:
        fresh = new_events(registry, before)
        record = {line["index"]: registry.iris.record("assets", line["id"]) for line in lines
                  if line["status"] == "created"}
    finally:
        registry.close()
    by_last = {int(str(e.text(FMAR.requestId)).rsplit(":", 1)[1]): e for e in fresh}
    assert sorted(by_last) == [9, 19, 24]  # one event a batch, and none for the resumed run
    importer = Caller({}, "fsp", "fmar-import", None, org)
    for first, last in ((0, 9), (10, 19), (20, 24)):
        event = by_last[last]
        batch = {record[i] for i in range(first, last + 1) if i in record}
        assert event.operation == "asset.create"
        assert_who_and_when(event, importer)
        assert re.fullmatch(rf"import:[0-9a-f]{{16}}-{fsp}:{last}", str(event.text(FMAR.requestId)))
        assert event.records == batch and len(batch) == (9 if first == 0 else last - first + 1)
        assert {s for s, *_ in event.added if "#" not in str(s)} == batch
        assert event.removed == set()


def test_fmar_export_is_logged_as_a_read(tmp_path: Path) -> None:
    settings = _initialised(tmp_path)
    registry = build(settings)
    try:
        org, _ = registry.organisations.create(SYSTEM, org_body())
        registry.registrations.register(SYSTEM, asset_body(str(org)))
        before = events(registry)
    finally:
        registry.close()
    out = tmp_path / "assets.csv"
    result = runner.invoke(cli, ["export", "--data-dir", str(settings.data_dir), "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert len(out.read_text().splitlines()) == 2
    registry = build(settings)
    try:
        event = new_event(registry, before)
    finally:
        registry.close()
    assert event.operation == "asset.export"
    assert_who_and_when(event, Caller({}, SYSTEM.role, SYSTEM.subject))
    _assert_a_read(event, "format=csv")


def test_fmar_init_demo_registers_every_demo_record_through_an_audited_write(tmp_path: Path) -> None:
    settings = _initialised(tmp_path, "--demo")
    demo = json.loads((tmp_path / "data" / "demo.json").read_text())
    registry = build(settings)
    try:
        seeded = [e for e in new_events(registry, set()) if e.operation in {
            "organisation.create", "user.create", "client.create", "delegation.create", "asset.create"}]
        record = registry.iris.record
    finally:
        registry.close()
    for event in seeded:
        assert_who_and_when(event, Caller({}, SYSTEM.role, SYSTEM.subject))
        assert_no_secrets(event, *(c["client_secret"] for c in demo["clients"]))

    def named(operation: str) -> list[list[str]]:
        """The records each event of ``operation`` names (the events in any order)."""
        return sorted(sorted(map(str, e.records)) for e in seeded if e.operation == operation)

    def each(collection: str, ids: list[str]) -> list[list[str]]:
        return sorted([str(record(collection, i))] for i in ids)

    assert named("organisation.create") == each("organisations", list(demo["organisations"].values()))
    assert named("user.create") == each("users", [u["id"] for u in demo["users"]])
    assert named("client.create") == each("clients", [c["client_id"] for c in demo["clients"]])
    assert named("delegation.create") == each("delegations", [d["id"] for d in demo["delegations"]])
    [assets] = named("asset.create")  # one batch
    assert len(assets) == demo["assets"]
