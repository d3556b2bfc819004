"""Every role sees exactly what it may over SPARQL: no more, no less, whatever the query asks for.

Two FSPs each have an asset, A's in the system operator's area (UKPN_EPN), B's in another (NGED_EMID).
Every probe below (a plain scan, GRAPH ?g, FROM and FROM NAMED, the protocol's dataset parameters,
CONSTRUCT and DESCRIBE) is run by every role, and the MPANs and serial numbers found are checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.conftest import ROLE_ORG, World
from tests.conftest import mpan

SELECT = "application/sparql-results+json"


@dataclass
class Fleet:
    fsp_a: str
    fsp_b: str
    so: str
    platform: str
    secrets_a: set[str]
    secrets_b: set[str]
    graph_b: str
    asset_b: str


@pytest.fixture
def fleet(world: World) -> Fleet:
    a, b = world.org("FSP"), world.org("FSP")
    mpan_a, mpan_b = mpan("100000005501"), mpan("110000005502")
    world.asset(a, importMPAN=mpan_a, serialNumber="SECRET-A1")
    asset_b = world.asset(b, importMPAN=mpan_b, serialNumber="SECRET-B1", dno="NGED_EMID", gspGroup=None)
    platform = world.org("PLATFORM")
    world.delegation(a, platform, ["sparql.query", "store.read"])
    graph_b = f"{world.registry.iris.org_graph(world.registry.iris.record('organisations', b))}/area/NGED_EMID"
    return Fleet(a, b, world.org_for("so"), platform, {mpan_a, "SECRET-A1"}, {mpan_b, "SECRET-B1"}, graph_b,
                 str(world.registry.iris.record("assets", asset_b)))


def _headers(world: World, fleet: Fleet, role: str) -> dict[str, str]:
    if role == "fsp-a":
        return world.auth("fsp", fleet.fsp_a)
    if role == "so":
        return world.auth("so", fleet.so)
    if role == "platform-for-a":
        client_id, secret = world.client_credentials(fleet.platform)
        token = world.client.post("/auth/token", data={"grant_type": "client_credentials"},
                                  auth=(client_id, secret)).json()["access_token"]
        return {"Authorization": f"Bearer {token}", "On-Behalf-Of": fleet.fsp_a}
    return world.auth(role, world.org_for(role) if role in ROLE_ORG and role != "admin" else None)


#: role → (sees A's secrets, sees B's secrets)
EXPECTED = {"anonymous": (False, False), "supplier": (False, False), "consumer": (False, False),
            "applicant": (False, False), "platform": (False, False), "fsp-a": (True, False), "so": (True, False),
            "platform-for-a": (True, False), "regulator": (True, True), "admin": (True, True)}


def _probes(fleet: Fleet) -> list[tuple[str, dict[str, Any]]]:
    g = fleet.graph_b
    return [
        ("SELECT * WHERE { ?s ?p ?o }", {}),
        ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", {}),
        (f"SELECT * FROM <{g}> WHERE {{ ?s ?p ?o }}", {}),
        (f"SELECT * FROM NAMED <{g}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
        (f"SELECT * WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}", {}),
        ("SELECT * WHERE { ?s ?p ?o }", {"default-graph-uri": g}),
        ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }", {"named-graph-uri": g}),
        ("CONSTRUCT WHERE { ?s ?p ?o }", {}),
        (f"DESCRIBE <{fleet.asset_b}>", {}),
        ("SELECT ?o WHERE { ?s <https://w3id.org/fmar#importMPAN>|<https://w3id.org/fmar#serialNumber> ?o }", {}),
    ]


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_reads_only_what_it_may(world: World, fleet: Fleet, role: str) -> None:
    headers = _headers(world, fleet, role)
    sees_a, sees_b = EXPECTED[role]
    for query, params in _probes(fleet):
        response = world.client.get("/sparql", params={"query": query, **params},
                                    headers={**headers, "Accept": "application/n-triples, " + SELECT})
        assert response.status_code == 200, (role, query, response.text)
        text = response.text  # every probe reaches B's asset: the callers who may read it find its secrets
        assert any(s in text for s in fleet.secrets_b) == sees_b, (role, query, params)
        if not sees_a:
            assert not any(s in text for s in fleet.secrets_a), (role, query, params)


def test_everyone_reads_the_public_view_of_every_asset(world: World, fleet: Fleet) -> None:
    query = """PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?dno (COUNT(?a) AS ?n) WHERE { ?a a fmar:Asset ; fmar:dno ?d BIND(STRAFTER(STR(?d), "DNOCode/") AS ?dno) }
        GROUP BY ?dno ORDER BY ?dno"""
    for role in ("anonymous", "fsp-a", "so"):
        rows = world.client.get("/sparql", params={"query": query}, headers=_headers(world, fleet, role)).json()
        assert [(b["dno"]["value"], b["n"]["value"]) for b in rows["results"]["bindings"]] == \
            [("NGED_EMID", "1"), ("UKPN_EPN", "1")], role  # each asset once: its public facts are written once


def test_the_audit_trail_is_for_the_admin_and_regulator(world: World, fleet: Fleet) -> None:
    audit = str(world.registry.iris.graph("audit"))
    query = f"ASK {{ GRAPH <{audit}> {{ ?e ?p ?o }} }}"
    for role, expected in (("anonymous", False), ("fsp-a", False), ("so", False), ("admin", True), ("regulator", True)):
        answer = world.client.get("/sparql", params={"query": query}, headers=_headers(world, fleet, role)).json()
        assert answer["boolean"] is expected, role


def test_reads_of_restricted_data_are_logged_and_public_reads_are_not(world: World, fleet: Fleet) -> None:
    def logged() -> int:
        rows = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
            SELECT (COUNT(?e) AS ?n) WHERE { GRAPH ?g { ?e fmar:operation "sparql.query" } }""")
        return int(str(rows[0]["n"]))

    before = logged()
    world.client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=_headers(world, fleet, "anonymous"))
    assert logged() == before
    world.client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"}, headers=_headers(world, fleet, "fsp-a"))
    assert logged() == before + 1
    event = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#> PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?who ?when ?what WHERE { GRAPH ?g { ?e fmar:operation "sparql.query" ; fmar:tokenSubject ?who ;
        prov:startedAtTime ?when ; fmar:reason ?what } }""")
    assert event and "ASK { ?s ?p ?o }" in str(event[0]["what"])


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_the_graph_store_gives_only_graphs_the_caller_may_read(world: World, fleet: Fleet, role: str) -> None:
    headers = {**_headers(world, fleet, role), "Accept": "application/n-triples"}
    restricted = world.client.get("/store", params={"graph": fleet.graph_b}, headers=headers)
    missing = world.client.get("/store", params={"graph": fleet.graph_b + "-none"}, headers=headers)
    assert missing.status_code == 404
    if EXPECTED[role][1]:
        assert restricted.status_code == 200 and "SECRET-B1" in restricted.text
    else:  # told exactly what a graph that does not exist is told
        assert restricted.status_code == 404 and restricted.json()["title"] == missing.json()["title"]
    public = world.client.get("/store", params={"graph": str(world.registry.iris.graph("public"))}, headers=headers)
    assert public.status_code == 200 and "NGED_EMID" in public.text
    assert not any(s in public.text for s in fleet.secrets_a | fleet.secrets_b)
    head = world.client.head("/store", params={"graph": str(world.registry.iris.graph("codes"))}, headers=headers)
    assert head.status_code == 200 and head.content == b""


def test_the_graph_store_needs_one_graph(world: World) -> None:
    assert world.client.get("/store").status_code == 400
    assert world.client.get("/store", params={"graph": "urn:a", "default": ""}).status_code == 400
    default = world.client.get("/store?default", headers={"Accept": "text/turtle"})
    assert default.status_code == 200 and default.headers["content-type"].startswith("text/turtle")
