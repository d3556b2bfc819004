"""The audit graph is append-only: no SPARQL update, the admin's included, can change or delete its events."""

from __future__ import annotations

import pytest

from fmar.audit.verify import verify
from tests.api.conftest import World, admin

AUDIT = "http://testserver/graph/audit"


def update(world: World, text: str) -> tuple[int, str]:
    response = world.client.post("/sparql/update", content=text.encode(),
                                 headers={**admin(world), "Content-Type": "application/sparql-update"})
    return response.status_code, response.text


def audit_quads(world: World) -> set[object]:
    return {q for q in world.registry.store.quads() if str(q[3]) == AUDIT}


@pytest.mark.parametrize("text", [
    f"CLEAR GRAPH <{AUDIT}>",
    f"DROP SILENT GRAPH <{AUDIT}>",
    "PREFIX g: <http://testserver/graph/> CLEAR GRAPH g:audit",
    "BASE <http://testserver/graph/> DROP GRAPH <audit>",
    f"DELETE WHERE {{ GRAPH <{AUDIT}> {{ ?s ?p ?o }} }}",
    "DELETE WHERE { GRAPH ?g { ?s ?p ?o } }",
    "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }",
    "INSERT { GRAPH ?g { <urn:x> <urn:p> 1 } } WHERE { GRAPH ?g { ?s ?p ?o } }",
    f"INSERT DATA {{ GRAPH <{AUDIT}> {{ <urn:forged> a <https://w3id.org/fmar#AuditEvent> }} }}",
    f"DELETE DATA {{ GRAPH <{AUDIT}> {{ <urn:x> <urn:p> <urn:o> }} }}",
    f"WITH <{AUDIT}> DELETE {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    f"MOVE <{AUDIT}> TO <urn:elsewhere>",
    f"COPY <urn:elsewhere> TO <{AUDIT}>",
    f"ADD DEFAULT TO <{AUDIT}>",
    f"INSERT DATA {{ <urn:a> <urn:b> <urn:c> }} ; CLEAR GRAPH <{AUDIT}>",
])
def test_an_update_that_could_touch_the_audit_graph_is_refused_and_changes_nothing(world: World, text: str) -> None:
    world.org("FSP")
    before = world.snapshot()
    status, body = update(world, text)
    assert status == 403, body
    assert "append-only" in body
    assert world.snapshot() == before


@pytest.mark.parametrize("text", ["CLEAR ALL", "DROP ALL", "CLEAR NAMED", "DROP SILENT NAMED",
                                  "CLEAR SILENT ALL ; INSERT DATA { <urn:a> <urn:b> <urn:c> }"])
def test_whole_store_updates_spare_the_audit_graph_and_the_chain_stays_intact(world: World, text: str) -> None:
    world.org("FSP")
    events = audit_quads(world)
    status, body = update(world, text)
    assert status == 204 or status == 200, body
    assert events <= audit_quads(world)  # every event still there, and the update's own added
    left = {str(q[3]) for q in world.registry.store.quads()} - {AUDIT}
    assert left == ({""} if text.endswith("}") else set()), left  # "": the default graph
    assert verify(world.registry.store, world.registry.iris).intact


def test_updates_on_other_graphs_still_run(world: World) -> None:
    status, _ = update(world, "INSERT DATA { GRAPH <urn:scratch> { <urn:a> <urn:b> <urn:c> } }")
    assert status in (200, 204)
    status, _ = update(world, "DELETE WHERE { GRAPH <urn:scratch> { ?s ?p ?o } }")
    assert status in (200, 204)
    assert not [q for q in world.registry.store.quads() if str(q[3]) == "urn:scratch"]


@pytest.mark.parametrize("text", ["CLEAR XYZ", "INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> \"c\" }",
                                  "DELETE WHERE { ?s ?p }"])
def test_an_update_that_cannot_be_checked_is_not_run(world: World, text: str) -> None:
    before = world.snapshot()
    status, body = update(world, text)
    assert status == 400 and "not valid SPARQL" in body, body
    assert world.snapshot() == before


@pytest.mark.parametrize(("text", "reason"), [
    ("CREATE GRAPH <http://testserver/graph/codes>", "already exists"),
    ("DROP GRAPH <urn:no-such-graph>", "does not exist"),
    ("CLEAR GRAPH <urn:no-such-graph>", "does not exist"),
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> } ; DROP GRAPH <urn:no-such-graph>", "does not exist"),
])
def test_an_update_the_store_cannot_apply_is_a_problem_and_changes_nothing(world: World, text: str,
                                                                            reason: str) -> None:
    """A failure at run time is the client's: 400 problem+json with the store's reason, and nothing written."""
    before = world.snapshot()
    events = audit_quads(world)
    response = world.client.post("/sparql/update", content=text.encode(),
                                 headers={**admin(world), "Content-Type": "application/sparql-update"})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert reason in response.json()["detail"]
    assert world.snapshot() == before and audit_quads(world) == events


def test_an_existing_empty_graph_can_be_cleared_and_dropped(world: World) -> None:
    assert update(world, "CREATE GRAPH <urn:empty>")[0] in (200, 204)
    assert "urn:empty" in world.registry.store.graph_names()
    assert update(world, "CLEAR GRAPH <urn:empty>")[0] in (200, 204)
    assert update(world, "DROP GRAPH <urn:empty>")[0] in (200, 204)
    assert "urn:empty" not in world.registry.store.graph_names()
    status, body = update(world, "DROP GRAPH <urn:empty>")
    assert status == 400 and "does not exist" in body
