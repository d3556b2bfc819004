"""The SPARQL endpoint's refusals (each clear, none changing anything), limits, formats and updates."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.compare import isomorphic

from fmar.api.app import create_app
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.registry import build
from tests.api.conftest import World
from tests.rdf_parse import parse_rdf
from tests.serving import uvicorn_server

UPDATE = {"Content-Type": "application/sparql-update"}
QUERY = {"Content-Type": "application/sparql-query"}


def _refused(world: World, response: httpx.Response, status: int, needle: str = "") -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert needle.lower() in response.json()["detail"].lower()


@pytest.mark.parametrize(("query", "needle"), [
    ("SELECT * WHERE { OPTIONAL { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }", "SERVICE"),
    ("SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } } }", "SERVICE"),
    ("select * where { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { SERVICESILENT<http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { # a comment that ends at a CR\rSERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * WHERE { BIND (1 AS ?x) { SERVICE ?endpoint { ?s ?p ?o } } }", "SERVICE"),
])
def test_service_is_refused_wherever_it_hides(world: World, query: str, needle: str) -> None:
    before = world.snapshot()
    _refused(world, world.client.get("/sparql", params={"query": query}, headers=world.auth("admin")), 403, needle)
    assert world.snapshot() == before


@pytest.mark.parametrize("query", [
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { ?s ?p \"\\U00000041\" }",
])
def test_codepoint_escapes_are_refused(world: World, query: str) -> None:
    _refused(world, world.client.get("/sparql", params={"query": query}), 400, "escape")


def test_words_in_strings_iris_and_comments_are_no_keywords(world: World) -> None:
    query = 'SELECT ?x WHERE { BIND ("SERVICE and LOAD" AS ?x) } # SERVICE <x>\n'
    response = world.client.get("/sparql", params={"query": query})
    assert response.status_code == 200, response.text
    assert response.json()["results"]["bindings"] == [{"x": {"type": "literal", "value": "SERVICE and LOAD"}}]
    iri = world.client.get("/sparql", params={"query": "ASK { <http://example.org/SERVICE> ?p ?o }"})
    assert iri.status_code == 200


def test_load_is_refused_even_for_the_admin(world: World) -> None:
    before = world.snapshot()
    for update in ("LOAD <http://127.0.0.1:9/data.ttl>", "load silent <http://127.0.0.1:9/d> into graph <urn:g>"):
        _refused(world, world.client.post("/sparql", content=update.encode(),
                                          headers={**world.auth("admin"), **UPDATE}), 403, "LOAD")
    assert world.snapshot() == before


@pytest.mark.parametrize(("request_kwargs", "status"), [
    ({"params": {"query": "SELECT * WHERE { ?s ?p }"}}, 400),
    ({"params": {"update": "CLEAR ALL"}}, 400),
    ({"params": {"query": ["ASK {}", "ASK {}"]}}, 400),
])
def test_bad_get_requests(world: World, request_kwargs: dict[str, object], status: int) -> None:
    before = world.snapshot()
    response = world.client.get("/sparql", headers=world.auth("admin"), **request_kwargs)  # type: ignore[arg-type]
    _refused(world, response, status)
    assert world.snapshot() == before


@pytest.mark.parametrize(("body", "headers", "params", "status"), [
    (b"query=ASK%7B%7D&update=CLEAR%20ALL", {"Content-Type": "application/x-www-form-urlencoded"}, {}, 400),
    (b"ASK {}", QUERY, {"query": "ASK {}"}, 400),
    (b"ASK {}", {"Content-Type": "text/plain"}, {}, 415),
    (b"query=ASK%7B%7D", {}, {}, 415),
    ("ASK {}".encode("utf-16"), {"Content-Type": "application/sparql-query; charset=UTF-16"}, {}, 415),
    (b"ASK { \xff }", QUERY, {}, 400),
    (b"CLEAR ALL ; INSERT DATA {", UPDATE, {}, 400),
    (b"WITH <urn:g> INSERT { ?s ?p ?o } WHERE { ?s ?p ?o }", UPDATE, {"using-graph-uri": "urn:h"}, 400),
])
def test_bad_post_requests(world: World, body: bytes, headers: dict[str, str], params: dict[str, str],
                           status: int) -> None:
    before = world.snapshot()
    response = world.client.post("/sparql", content=body, params=params, headers={**world.auth("admin"), **headers})
    _refused(world, response, status)
    assert world.snapshot() == before


def test_a_huge_query_is_413(world: World) -> None:
    limit = world.registry.settings.sparql_max_query_bytes
    query = "ASK { " + "?s ?p ?o . " * (limit // 10) + "}"
    _refused(world, world.client.post("/sparql", content=query.encode(), headers=QUERY), 413)


def test_unacceptable_media_types_are_406(world: World) -> None:
    _refused(world, world.client.get("/sparql", params={"query": "SELECT * {}"}, headers={"Accept": "text/turtle"}), 406)
    _refused(world, world.client.get("/sparql", params={"query": "CONSTRUCT {} WHERE {}"},
                                     headers={"Accept": "text/csv"}), 406)


@pytest.mark.parametrize("path", ["/sparql", "/sparql/update"])
def test_only_the_admin_updates(world: World, path: str) -> None:
    before = world.snapshot()
    update = b"INSERT DATA { GRAPH <urn:mine> { <urn:s> <urn:p> <urn:o> } }"
    assert world.client.post(path, content=update, headers=UPDATE).status_code == 401
    for role in ("fsp", "regulator", "so"):
        org = world.org_for(role)
        _refused(world, world.client.post(path, content=update, headers={**world.auth(role, org), **UPDATE}), 403)
    assert world.snapshot() - before <= {q for q in world.snapshot() if "organisations" in str(q[0])
                                         or "graph/audit" in str(q[3]) or "graph/org" in str(q[3])}
    assert not any(str(q[3]) == "urn:mine" for q in world.snapshot())


def test_an_admin_update_is_audited_in_the_same_write(world: World) -> None:
    update = "PREFIX ex: <http://example.org/>\nINSERT DATA { GRAPH ex:g { ex:s ex:p 1 } } ;"
    response = world.client.post("/sparql/update", content=update.encode(), headers={**world.auth("admin"), **UPDATE})
    assert response.status_code == 204, response.text
    events = world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?text ?who WHERE { GRAPH ?g { ?e fmar:operation "sparql.update" ; fmar:sparqlUpdate ?text ;
        fmar:tokenSubject ?who } }""")
    assert [str(e["text"]) for e in events] == [update.rstrip(";")]
    assert world.registry.store.ask("ASK { GRAPH <http://example.org/g> { ?s ?p 1 } }")
    failing = world.client.post("/sparql/update", content=b"INSERT DATA { GRAPH <urn:x> { <urn:s> <urn:p> } }",
                                headers={**world.auth("admin"), **UPDATE})
    assert failing.status_code == 400
    assert len(world.registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?e WHERE { GRAPH ?g { ?e fmar:operation "sparql.update" } }""")) == 1


def test_the_service_description(world: World) -> None:
    response = world.client.get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    graph = Graph().parse(data=response.text, format="turtle")
    assert graph.query("ASK { ?s a <http://www.w3.org/ns/sparql-service-description#Service> ; "
                       "<http://www.w3.org/ns/sparql-service-description#endpoint> ?e }").askAnswer


SELECT_QUERY = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?code ?label ?id ?none WHERE { ?code skos:prefLabel ?label . OPTIONAL { ?code fmar:distributorId ?id } }
ORDER BY ?code LIMIT 40"""


@pytest.mark.parametrize(("media", "fmt"), [("application/sparql-results+json", ox.QueryResultsFormat.JSON),
                                            ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
                                            ("text/tab-separated-values", ox.QueryResultsFormat.TSV)])
def test_select_results_read_back_as_what_oxigraph_answers(world: World, media: str, fmt: ox.QueryResultsFormat) -> None:
    response = world.client.get("/sparql", params={"query": SELECT_QUERY}, headers={"Accept": media})
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    ours = ox.parse_query_results(response.content, format=fmt)
    theirs = world.registry.store._store.query(SELECT_QUERY, use_default_graph_as_union=True)  # type: ignore[attr-defined]
    assert isinstance(ours, ox.QuerySolutions) and isinstance(theirs, ox.QuerySolutions)
    assert [v.value for v in ours.variables] == [v.value for v in theirs.variables]
    names = [v.value for v in theirs.variables]
    assert [tuple(s[n] for n in names) for s in ours] == [tuple(s[n] for n in names) for s in theirs]


def test_csv_results_and_boolean_results(world: World) -> None:
    csv = world.client.get("/sparql", params={"query": "SELECT ?a ?b WHERE { BIND (\"x,\\\"y\\\"\" AS ?a) }"},
                           headers={"Accept": "text/csv"})
    assert csv.text == 'a,b\r\n"x,""y""",\r\n'
    for media in ("application/sparql-results+json", "application/sparql-results+xml"):
        answer = world.client.get("/sparql", params={"query": "ASK {}"}, headers={"Accept": media})
        assert ox.parse_query_results(answer.content, format=ox.QueryResultsFormat.from_media_type(media))


@pytest.mark.parametrize("media", ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"])
def test_construct_results_in_every_rdf_syntax_are_the_same_graph(world: World, media: str) -> None:
    query = "CONSTRUCT WHERE { ?code <http://www.w3.org/2004/02/skos/core#prefLabel> ?label }"
    expected = parse_rdf(world.client.get("/sparql", params={"query": query},
                                          headers={"Accept": "application/n-triples"}).text, "application/n-triples")
    response = world.client.get("/sparql", params={"query": query}, headers={"Accept": media})
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    assert len(expected) > 50 and isomorphic(parse_rdf(response.text, media), expected)


@pytest.fixture
def limited() -> Iterator[TestClient]:
    registry = build(Settings(base_iri="http://testserver/", sparql_time_limit=0.5, sparql_row_cap=50,
                                 sparql_workers=1))
    load_reference(registry.write, registry.iris, registry.settings)
    with TestClient(create_app(registry)) as client:
        yield client


def test_past_the_row_cap_is_a_clear_problem(limited: TestClient) -> None:
    response = limited.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    assert response.status_code == 422 and "LIMIT" in response.json()["detail"]
    assert limited.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 50"}).status_code == 200


def test_a_cartesian_product_stops_at_the_time_limit_and_holds_nothing_up() -> None:
    registry = build(Settings(base_iri="http://testserver/", sparql_time_limit=1.0, sparql_row_cap=10**9))
    load_reference(registry.write, registry.iris, registry.settings)
    product = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with uvicorn_server(create_app(registry)) as base:
        answers: dict[str, object] = {}

        def slow() -> None:
            started = time.monotonic()
            answers["slow"] = httpx.get(f"{base}/sparql", params={"query": product}, timeout=60)
            answers["seconds"] = time.monotonic() - started

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(0.2)
        health = [httpx.get(f"{base}/health", timeout=5).status_code for _ in range(5)]
        quick = httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=5)
        thread.join(60)
    slow_answer = answers["slow"]
    assert isinstance(slow_answer, httpx.Response)
    assert slow_answer.status_code == 503, slow_answer.text
    assert "time limit" in json.loads(slow_answer.text)["detail"] and float(answers["seconds"]) < 10  # type: ignore[arg-type]
    assert health == [200] * 5 and quick.status_code == 200


@pytest.mark.parametrize(("media", "query", "body"), [
    ("text/csv", "ASK { }", b"true"),
    ("text/tab-separated-values", "ASK { }", b"true"),
    ("text/csv", "ASK { <urn:nothing> <urn:here> <urn:at-all> }", b"false"),
])
def test_ask_answers_as_csv_and_tsv_as_oxigraph_does(world: World, media: str, query: str, body: bytes) -> None:
    answer = world.client.get("/sparql", params={"query": query}, headers={"Accept": media})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith(media)
    expected = ox.Store().query(query).serialize(  # type: ignore[union-attr]
        format=ox.QueryResultsFormat.CSV if media == "text/csv" else ox.QueryResultsFormat.TSV)
    assert answer.content == body == expected
