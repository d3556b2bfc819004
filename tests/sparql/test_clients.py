"""Real SPARQL clients against a real uvicorn on 127.0.0.1, with bearer tokens: SPARQLWrapper (GET, POST
directly, POST form; every result format; protocol datasets; an admin update) and rdflib's SPARQLStore."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, POSTDIRECTLY, TSV, TURTLE, URLENCODED, XML, SPARQLWrapper

from fmar.access.principal import SYSTEM
from fmar.api.app import create_app
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.registry import Registry, build
from tests.conftest import asset_body, mpan, org_body
from tests.serving import uvicorn_server

MPAN_A, MPAN_B = mpan("100000006601"), mpan("110000006602")
MPANS = "PREFIX fmar: <https://w3id.org/fmar#> SELECT ?m WHERE { ?a fmar:importMPAN ?m } ORDER BY ?m"


@dataclass
class Served:
    registry: Registry
    endpoint: str
    fsp_token: str
    admin_token: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    registry = build(Settings(base_iri="http://127.0.0.1:8000/"))
    load_reference(registry.write, registry.iris, registry.settings)
    a, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="61616161"))
    b, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="62626262"))
    registry.registrations.register(SYSTEM, asset_body(str(a), importMPAN=MPAN_A, serialNumber="CLIENT-A"))
    registry.registrations.register(SYSTEM, asset_body(str(b), importMPAN=MPAN_B, serialNumber="CLIENT-B", dno="NGED_EMID"))
    with uvicorn_server(create_app(registry)) as base:
        yield Served(registry, f"{base}/sparql", registry.tokens.issue(role="fsp", subject="peer", org=str(a)),
                     registry.tokens.issue(role="admin", subject="operator"))


def _wrapper(served: Served, token: str | None, query: str) -> SPARQLWrapper:
    sparql = SPARQLWrapper(served.endpoint)
    sparql.setQuery(query)
    if token:
        sparql.addCustomHttpHeader("Authorization", f"Bearer {token}")
    return sparql


@pytest.mark.parametrize(("method", "request_method"), [(None, None), (POST, POSTDIRECTLY), (POST, URLENCODED)])
def test_sparqlwrapper_reads_what_the_token_allows(served: Served, method: str | None, request_method: str | None) -> None:
    for token, expected in ((served.fsp_token, [MPAN_A]), (served.admin_token, [MPAN_A, MPAN_B]), (None, [])):
        sparql = _wrapper(served, token, MPANS)
        if method:
            sparql.setMethod(method)
            sparql.setRequestMethod(request_method)
        sparql.setReturnFormat(JSON)
        rows = sparql.query().convert()["results"]["bindings"]  # type: ignore[index,call-overload]
        assert [r["m"]["value"] for r in rows] == expected


@pytest.mark.parametrize("fmt", [XML, CSV, TSV])
def test_sparqlwrapper_tabular_formats(served: Served, fmt: str) -> None:
    sparql = _wrapper(served, served.fsp_token, MPANS)
    sparql.setReturnFormat(fmt)
    result = sparql.query()
    body = result.convert()
    text = body.toxml() if fmt == XML else body.decode() if isinstance(body, bytes) else str(body)  # type: ignore[union-attr]
    assert MPAN_A in text and MPAN_B not in text


@pytest.mark.parametrize("fmt", [TURTLE, N3, JSONLD, XML])
def test_sparqlwrapper_construct_formats(served: Served, fmt: str) -> None:
    sparql = _wrapper(served, served.fsp_token,
                      "PREFIX fmar: <https://w3id.org/fmar#> CONSTRUCT WHERE { ?a fmar:importMPAN ?m }")
    sparql.setReturnFormat(fmt)
    converted = sparql.query().convert()  # SPARQLWrapper parses RDF/XML and JSON-LD, hands back Turtle as text
    graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")
    assert {str(o) for o in graph.objects()} == {MPAN_A}


def test_sparqlwrapper_protocol_dataset_and_admin_update(served: Served) -> None:
    update = _wrapper(served, served.admin_token,
                      "INSERT DATA { GRAPH <http://example.org/peer-g> { <http://example.org/s> <http://example.org/p> 1 } }")
    update.setMethod(POST)
    assert update.query().response.status == 204
    sparql = _wrapper(served, served.admin_token, "SELECT ?s WHERE { ?s ?p 1 }")
    sparql.addDefaultGraph("http://example.org/peer-g")
    sparql.setReturnFormat(JSON)
    assert [r["s"]["value"] for r in sparql.query().convert()["results"]["bindings"]] == [  # type: ignore[index,call-overload]
        "http://example.org/s"]
    refused = _wrapper(served, served.fsp_token, "INSERT DATA { <http://example.org/s> <http://example.org/p> 2 }")
    refused.setMethod(POST)
    with pytest.raises(Exception, match="403|Forbidden|Unauthorized"):
        refused.query()


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore(served: Served, method: str) -> None:
    store = SPARQLStore(served.endpoint, returnFormat="json", method=method,
                        headers={"Authorization": f"Bearer {served.fsp_token}"})
    graph = Graph(store=store)
    rows = list(graph.query(MPANS))
    assert [str(r[0]) for r in rows] == [MPAN_A]  # type: ignore[index]
    asset = URIRef(str(next(iter(graph.query(
        "PREFIX fmar: <https://w3id.org/fmar#> SELECT ?a WHERE { ?a fmar:importMPAN ?m }")))[0]))  # type: ignore[index]
    assert (asset, URIRef("https://w3id.org/fmar#serialNumber"), Literal("CLIENT-A")) in graph
    anonymous = Graph(store=SPARQLStore(served.endpoint, returnFormat="json", method=method))
    assert list(anonymous.query(MPANS)) == []
    assert len(list(anonymous.query("SELECT ?a WHERE { ?a a <https://w3id.org/fmar#Asset> }"))) == 2
