"""UC-01.02/03/04 over HTTP: register, read in every format, update with If-Match, status, de-register."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from rdflib import Literal
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from fmar.iris import DCTERMS, FMAR, code
from tests.api.conftest import World
from tests.conftest import org_body, put_quads
from tests.rdf_parse import parse_rdf

RDF_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml"}


def _create(world: World, role: str = "admin", **overrides: object) -> dict[str, object]:
    response = world.client.post("/organisations", json=org_body(**overrides), headers=world.auth(role))
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_register_answers_201_with_location_id_and_identifier(world: World) -> None:
    response = world.client.post("/organisations", json=org_body(), headers=world.auth("admin"))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == f"http://testserver/organisations/{body['identifier']}"
    assert response.headers["location"] == body["id"]
    assert body["status"] == "Active" and body["@context"] == "http://testserver/context.jsonld"
    again = world.client.get(response.headers["location"], headers=world.auth("admin"))
    assert again.json() == body and again.headers["etag"] == response.headers["etag"]


def test_anonymous_registration_needs_a_token(world: World) -> None:
    before = world.snapshot()
    response = world.client.post("/organisations", json=org_body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert world.snapshot() == before


def test_applicant_registration_is_pending_and_the_admin_approves(world: World) -> None:
    body = _create(world, "applicant")
    assert body["status"] == "PendingApproval"
    approved = world.client.post(f"/organisations/{body['identifier']}/status", json={"status": "Active",
                                 "reason": "checks passed"}, headers=world.auth("admin"))
    assert approved.status_code == 200 and approved.json()["status"] == "Active"


@pytest.mark.parametrize("context", ["https://w3id.org/fmar/context.jsonld", "http://testserver/context.jsonld"])
def test_jsonld_submission_with_the_published_context(world: World, context: str) -> None:
    body = {"@context": context, "type": "Organisation", **org_body()}
    response = world.client.post("/organisations", content=json.dumps(body), headers={
        **world.auth("admin"), "Content-Type": "application/ld+json"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("media", sorted(RDF_TYPES))
def test_every_rdf_format_carries_the_same_graph(world: World, media: str) -> None:
    body = _create(world)
    response = world.client.get(f"/organisations/{body['identifier']}", headers={**world.auth("admin"), "Accept": media})
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    as_jsonld = world.client.get(f"/organisations/{body['identifier']}", headers=world.auth("admin"))
    from_jsonld = parse_rdf(as_jsonld.text, "application/ld+json", world.registry.context.document)
    assert isomorphic(parse_rdf(response.text, media), from_jsonld)


def test_head_gives_the_headers_of_get(world: World) -> None:
    body = _create(world)
    get = world.client.get(f"/organisations/{body['identifier']}", headers=world.auth("admin"))
    head = world.client.head(f"/organisations/{body['identifier']}", headers=world.auth("admin"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-type"] == get.headers["content-type"]


def test_unacceptable_format_is_406(world: World) -> None:
    body = _create(world)
    response = world.client.get(f"/organisations/{body['identifier']}", headers={**world.auth("admin"), "Accept": "text/csv"})
    assert response.status_code == 406 and "text/turtle" in response.json()["offered"]


def test_paths_take_the_bare_id_or_the_iri(world: World) -> None:
    body = _create(world)
    for path in (str(body["identifier"]), str(body["id"]), quote(str(body["id"]), safe="")):
        assert world.client.get(f"/organisations/{path}", headers=world.auth("admin")).json()["id"] == body["id"]


def test_update_needs_if_match_and_keeps_registry_fields(world: World) -> None:
    body = _create(world)
    path = f"/organisations/{body['identifier']}"
    first = world.client.get(path, headers=world.auth("admin"))
    before = world.snapshot()
    missing = world.client.patch(path, json={"tradingName": "New"}, headers=world.auth("admin"))
    assert missing.status_code == 428
    stale = world.client.patch(path, json={"tradingName": "New"}, headers={**world.auth("admin"), "If-Match": '"stale"'})
    assert stale.status_code == 412
    assert world.snapshot() == before
    ok = world.client.patch(path, content=json.dumps({"tradingName": "New", "vatNumber": None}), headers={
        **world.auth("admin"), "If-Match": first.headers["etag"], "Content-Type": "application/merge-patch+json"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["tradingName"] == "New" and "vatNumber" not in ok.json()
    assert ok.json()["identifier"] == body["identifier"] and ok.headers["etag"] != first.headers["etag"]
    again = world.client.patch(path, json={"tradingName": "Newer"}, headers={**world.auth("admin"),
                               "If-Match": first.headers["etag"]})
    assert again.status_code == 412


def test_the_organisation_admin_updates_its_own_record(world: World) -> None:
    org = world.org("FSP")
    admin = world.auth("fsp", org, subject=world.user(org, "ORG_ADMIN"))
    viewer = world.auth("fsp", org, subject=world.user(org, "DATA_VIEWER"))
    etag = world.client.get(f"/organisations/{org}", headers=viewer).headers["etag"]
    assert world.client.patch(f"/organisations/{org}", json={"tradingName": "x"},
                              headers={**viewer, "If-Match": etag}).status_code == 403
    assert world.client.patch(f"/organisations/{org}", json={"tradingName": "x"},
                              headers={**admin, "If-Match": etag}).status_code == 200


def test_listing_pages_with_a_cursor(world: World) -> None:
    ids = sorted(world.org("FSP") for _ in range(3))
    first = world.client.get("/organisations?limit=2", headers=world.auth("admin")).json()
    assert [i["identifier"] for i in first["items"]] == ids[:2]
    second = world.client.get(first["next"], headers=world.auth("admin")).json()
    assert [i["identifier"] for i in second["items"]] == ids[2:] and "next" not in second


# Every status an organisation can be in, every status request, and whether it is allowed.
TRANSITIONS = {
    "PendingApproval": {"Active": True, "Suspended": False, "Withdrawn": True, "deregister": False},
    "Active": {"Active": False, "Suspended": True, "Withdrawn": True, "deregister": True},
    "Suspended": {"Active": True, "Suspended": False, "Withdrawn": True, "deregister": True},
    "Withdrawn": {"Active": False, "Suspended": False, "Withdrawn": False, "deregister": False},
    "Inactive": {"Active": False, "Suspended": False, "Withdrawn": False, "deregister": False},
}
_REACH = {"PendingApproval": [], "Active": [], "Suspended": ["Suspended"], "Withdrawn": ["Withdrawn"],
          "Inactive": ["deregister"]}


def _move(world: World, org: str, action: str) -> object:
    if action == "deregister":
        return world.client.post(f"/organisations/{org}/deregister", json={"reason": "test"}, headers=world.auth("admin"))
    return world.client.post(f"/organisations/{org}/status", json={"status": action, "reason": "test"},
                             headers=world.auth("admin"))


@pytest.mark.parametrize("start", sorted(TRANSITIONS))
@pytest.mark.parametrize("action", ["Active", "Suspended", "Withdrawn", "deregister"])
def test_every_status_transition(world: World, start: str, action: str) -> None:
    org = str(_create(world, "applicant" if start == "PendingApproval" else "admin")["identifier"])
    for step in _REACH[start]:
        assert _move(world, org, step).status_code == 200  # type: ignore[attr-defined]
    before = world.snapshot()
    response = _move(world, org, action)
    expected = "Inactive" if action == "deregister" else action
    if TRANSITIONS[start][action]:
        assert response.status_code == 200, response.text  # type: ignore[attr-defined]
        assert response.json()["status"] == expected  # type: ignore[attr-defined]
    else:
        assert response.status_code == 409, response.text  # type: ignore[attr-defined]
        assert world.snapshot() == before


@pytest.mark.parametrize(("body", "pointer"), [
    ({"status": "Suspended"}, "/reason"), ({"status": "Withdrawn", "reason": " "}, "/reason"),
    ({"status": "Inactive", "reason": "x"}, "/status"), ({"status": "Frozen", "reason": "x"}, "/status"),
    ({"reason": "x"}, "/status"), ({"status": 3}, "/status"),
])
def test_status_requests_are_checked(world: World, body: dict[str, object], pointer: str) -> None:
    org = world.org("FSP")
    before = world.snapshot()
    response = world.client.post(f"/organisations/{org}/status", json=body, headers=world.auth("admin"))
    assert response.status_code == 422 and response.json()["pointer"] == pointer
    assert world.snapshot() == before


def test_deregistration_stops_the_organisations_tokens(world: World) -> None:
    org = world.org("FSP")
    admin = world.auth("fsp", org, subject=world.user(org, "ORG_ADMIN"))
    operator = world.auth("fsp", org)
    response = world.client.post(f"/organisations/{org}/deregister", json={"reason": "ceased trading"}, headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "Inactive"
    for headers in (admin, operator):
        refused = world.client.get(f"/organisations/{org}", headers=headers)
        assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]


def test_suspended_organisation_tokens_are_forbidden(world: World) -> None:
    org = world.org("FSP")
    _move(world, org, "Suspended")
    assert world.client.get(f"/organisations/{org}", headers=world.auth("fsp", org)).status_code == 403


def test_deregistration_is_refused_while_assets_depend_on_it(world: World) -> None:
    org = world.org("FSP")
    iris = world.registry.iris
    asset = iris.record("assets", "11111111-1111-4111-8111-111111111111")
    graph = iris.org_graph(iris.record("organisations", org))
    # Set up as the asset module will record one (it arrives in a later issue).
    put_quads(world.registry.store, [(asset, RDF.type, FMAR.Asset, graph),
                                    (asset, DCTERMS.identifier, Literal(iris.identifier(asset)), graph),
                                    (asset, FMAR.operatedBy, iris.record("organisations", org), graph),
                                    (asset, FMAR.status, code("AssetStatus", "Verified"), graph)])
    before = world.snapshot()
    response = world.client.post(f"/organisations/{org}/deregister", json={"reason": "x"}, headers=world.auth("admin"))
    assert response.status_code == 409
    assert response.json()["dependents"] == [{"kind": "active asset", "id": iris.identifier(asset), "record": str(asset)}]
    assert world.snapshot() == before
