"""Issue 12, "Done when": every kind of category shape a maintainer publishes is enforced as SHACL says.

Each kind of shape the issue lists under "Why" is published over HTTP as a new version of the BESS shape
(the current one plus constraints of that kind, on terms assets really carry). The published shape reads back
(the current version and the stored version) isomorphic to what was submitted, apart from ``owl:versionInfo``.
The shapes in force are then read again from the store, as a restart would, and installed behind a validator
that runs pyshacl and the compiled engine on the same data and records any difference (``BothEngines``). A
passing asset is registered (201) and a failing one refused (422, naming the term), singly and together in one
bulk batch (one created, one rejected), and the two engines agree on every one of those validations.

Besides: SPARQL that does not parse, that names ``SERVICE`` or ``FROM`` is refused at publish (422) and changes
nothing; and an admin creates a new category (its code-list entry beside its first shape version).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rdflib import Graph, URIRef
from rdflib.compare import graph_diff, isomorphic, to_isomorphic
from rdflib.namespace import OWL
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.plugins.sparql.sparql import Query
from rdflib.term import Node

from fmar.api.app import create_app
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.registry import Registry, build
from fmar.validation.shacl import Facts, Result
from tests.api.conftest import World
from tests.conftest import BASE, asset_body, mpan
from tests.validation.test_engine_conformance import BothEngines

TURTLE = {"Content-Type": "text/turtle"}
NDJSON = {"Content-Type": "application/x-ndjson"}
CODE = "https://w3id.org/fmar/code/"
SHAPES = "https://w3id.org/fmar/shapes/category/"

#: Prefixes of the constraints added to the BESS shape (Turtle allows them after the shape read back).
PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix fmar: <https://w3id.org/fmar#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix category: <https://w3id.org/fmar/shapes/category/> .
@prefix dno: <https://w3id.org/fmar/code/DNOCode/> .
"""

# ---------------------------------------------------------------------------------------------- the world


class Recording(BothEngines):
    """Both engines on every validation; a difference is recorded (and raised, as BothEngines does)."""

    def __init__(self, registry: Registry) -> None:
        super().__init__(registry)
        self.disagreements: list[str] = []

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        try:
            return super().validate(data, focus, context)
        except AssertionError as exc:
            self.disagreements.append(str(exc))
            raise

    def in_context(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        try:
            return super().in_context(facts, focus, linked)
        except AssertionError as exc:
            self.disagreements.append(str(exc))
            raise


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One registry for the module: each test publishes its own version of the BESS shape."""
    registry = build(Settings(base_iri=BASE))
    load_reference(registry.write, registry.iris, registry.settings)
    with pytest.MonkeyPatch.context() as patch, TestClient(create_app(registry)) as client:
        patch.setattr(SPARQLProcessor, "query", _prepared_once(SPARQLProcessor.query))
        yield World(registry, client)


def _prepared_once(query: Callable[..., Any]) -> Callable[..., Any]:
    """rdflib's SPARQL query, each query text parsed and translated once (as ``prepareQuery`` lets a caller
    reuse it) rather than on every run: pyshacl, the reference, spends most of a registration parsing the same
    SPARQL constraints again. The answers are the same; only this module's time changes."""
    prepared: dict[tuple[str, str | None, frozenset[tuple[str, str]]], Query] = {}

    def once(self: SPARQLProcessor, text: str | Query, initBindings: Any = None, initNs: Any = None,  # noqa: N803
             base: str | None = None, DEBUG: bool = False) -> Any:  # noqa: N803
        if isinstance(text, str):
            key = (text, base, frozenset((str(k), str(v)) for k, v in (initNs or {}).items()))
            if key not in prepared:
                prepared[key] = translateQuery(parseQuery(text), base, initNs)
            text = prepared[key]
        return query(self, text, initBindings, initNs, base, DEBUG)
    return once


@dataclass
class Orgs:
    """The operating organisations the tests register assets for (bare IDs) and their IRIs."""

    ids: dict[str, str]
    iris: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def orgs(world: World) -> Orgs:
    ids = {"fsp": world.org("FSP"), "other": world.org("FSP"), "aggregator": world.org("AGGREGATOR")}
    return Orgs(ids, {k: str(world.registry.iris.record("organisations", v)) for k, v in ids.items()})


@pytest.fixture(scope="module")
def original(world: World) -> str:
    """The BESS shape in force before any test publishes (the seed), as the registry serves it."""
    response = world.client.get("/categories/BESS")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/turtle")
    return str(response.text)


def _without_version(graph: Graph) -> Graph:
    out = Graph()
    for triple in graph:
        if triple[1] != OWL.versionInfo:
            out.add(triple)
    return out


def _difference(expected: Graph, actual: Graph) -> str:
    _, missing, extra = graph_diff(to_isomorphic(expected), to_isomorphic(actual))
    return (f"missing after publishing:\n{missing.serialize(format='nt')}\n"
            f"not submitted:\n{extra.serialize(format='nt')}")


def _publish(world: World, code_: str, turtle: str, *, leave_out: Node | None = None) -> int:
    """PUT the shape (a breaking version: assets of earlier tests are not re-checked); the version it became.
    The current version and the stored one read back as submitted (``leave_out``: the subject of triples the
    registry moves elsewhere, a new category's code-list entry)."""
    response = world.client.put(f"/categories/{code_}?breaking=true&reason=test", content=turtle.encode(),
                                headers={**world.auth("admin"), **TURTLE})
    assert response.status_code == 200 and response.json()["code"] == code_, response.text
    version = int(response.json()["version"])
    expected = _without_version(Graph().parse(data=turtle, format="turtle"))
    if leave_out is not None:
        expected.remove((leave_out, None, None))
    for url in (f"/categories/{code_}", f"/categories/{code_}?version={version}"):
        read = world.client.get(url)
        assert read.status_code == 200, read.text
        actual = _without_version(Graph().parse(data=read.text, format="turtle"))
        assert isomorphic(actual, expected), f"{url}: " + _difference(expected, actual)
    return version


def _judged_by_both(world: World) -> Recording:
    """The shapes in force read back from the store (as after a restart), judged by pyshacl and the engine."""
    catalogue = world.registry.catalogue
    catalogue.reload()
    engines = Recording(world.registry)
    engines.set_reference(catalogue.reference)
    catalogue.use(engines)  # type: ignore[arg-type]
    return engines


# ---------------------------------------------------------------------------------------------- records

_numbers = count(1)
FRESH = "a fresh MPAN of area 10 (UKPN_EPN, GSP group _A)"
FRESH_11 = "a fresh MPAN of area 11 (NGED_EMID, GSP group _B)"
EAST_MIDLANDS: dict[str, Any] = {"importMPAN": FRESH_11, "dno": "NGED_EMID"}


def _body(org: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """A BESS submission operated by ``org`` on MPANs no other test uses, with ``overrides``."""
    n = next(_numbers)
    values = {"importMPAN": FRESH, "serialNumber": f"SN-{n}", **overrides}
    for digit, key in enumerate(("importMPAN", "exportMPAN")):
        if values.get(key) in (FRESH, FRESH_11):
            values[key] = mpan(f"{'11' if values[key] == FRESH_11 else '10'}{n:09d}{digit}")
    return asset_body(org, **values)


def _caller(world: World, orgs: Orgs, *operators: str) -> dict[str, str]:
    """The operator's FSP token, or the admin's when the records have other operators or one is no FSP."""
    if len(set(operators)) == 1 and operators[0] != "aggregator":
        return world.auth("fsp", orgs.ids[operators[0]])
    return world.auth("admin")


def _names(error: dict[str, Any], term: str) -> bool:
    return bool(error["path"] == term or term in error["message"])


def _refused_naming(errors: list[dict[str, Any]], term: str, words: str) -> None:
    """Every violation names the term (nothing else fails), and one says ``words``."""
    violations = [e for e in errors if e["severity"] == "Violation"]
    assert violations and all(_names(e, term) for e in violations), violations
    assert any(words in e["message"] for e in violations), violations


# ---------------------------------------------------------------------------------------------- the kinds


@dataclass(frozen=True)
class Kind:
    """A kind of shape: constraints added to the BESS shape, a record that keeps them and one that breaks them
    (overrides of the BESS submission, operated by ``passing_org`` and ``failing_org``), the term the refusal
    names and words of its message."""

    id: str
    turtle: str
    passing: dict[str, Any]
    failing: dict[str, Any]
    term: str
    words: str
    passing_org: str = "fsp"
    failing_org: str = "fsp"


#: The properties of an asset that the closed shape of 13c allows besides its own property shapes' paths
#: (all but fmar:assetModel and fmar:manufacturer).
_ALLOWED = " ".join(f"fmar:{p}" for p in (
    "assetName", "friendlyCode", "assetCategory", "operatedBy", "ratedCapacity", "generationCapacity",
    "demandCapacity", "installedCapacity", "otherDescription", "serialNumber", "importMPAN", "exportMPAN", "dno",
    "gspGroup", "postcode", "connectionStatus", "connectionType", "commissioningDate", "effectiveDate", "ownerType",
    "consentReference", "statusNote", "deregistrationReason", "demandTechType", "status", "recordedAt",
    "acceptedWarning"))

_NO_ACME = '''[ a sh:SPARQLConstraint ; sh:message "manufacturer must not be Acme" ;
        sh:select """PREFIX fmar: <https://w3id.org/fmar#>
            SELECT $this (fmar:manufacturer AS ?path) ?value WHERE {
                $this fmar:manufacturer ?value . FILTER (STRSTARTS(STR(?value), "Acme")) }""" ]'''

KINDS = [
    # 1-7: the components that were refused at publish
    Kind("1-or", """
category:BESS sh:property [ sh:path fmar:manufacturer ;
    sh:or ( [ sh:pattern "^Tesla$" ] [ sh:pattern "^Sonnen$" ] ) ;
    sh:message "manufacturer must be Tesla or Sonnen" ] .""",
         {"manufacturer": "Sonnen"}, {"manufacturer": "Acme"}, "manufacturer", "Tesla or Sonnen"),
    Kind("2-and", """
category:BESS sh:property [ sh:path fmar:serialNumber ;
    sh:and ( [ sh:pattern "^PW-" ] [ sh:maxLength 12 ] ) ;
    sh:message "serialNumber must begin PW- and have at most 12 characters" ] .""",
         {"serialNumber": "PW-12345"}, {"serialNumber": "PW-1234567890"}, "serialNumber", "at most 12"),
    Kind("3-not", """
category:BESS sh:property [ sh:path fmar:manufacturer ; sh:not [ sh:pattern "^Acme" ] ;
    sh:message "manufacturer must not be Acme" ] .""",
         {"manufacturer": "Tesla"}, {"manufacturer": "Acme Batteries"}, "manufacturer", "must not be Acme"),
    Kind("4-xone", """
category:BESS sh:message "BESS: an importMPAN or an exportMPAN, not both" ;
    sh:xone ( [ sh:path fmar:importMPAN ; sh:minCount 1 ] [ sh:path fmar:exportMPAN ; sh:minCount 1 ] ) .""",
         {}, {"exportMPAN": FRESH}, "exportMPAN", "not both"),
    Kind("5-qualifiedValueShape", """
category:BESS sh:property [ sh:path fmar:manufacturer ;
    sh:qualifiedValueShape [ sh:pattern "^(Tesla|Sonnen)$" ] ; sh:qualifiedMinCount 1 ;
    sh:message "manufacturer must be an approved one (Tesla or Sonnen)" ] .""",
         {"manufacturer": "Tesla"}, {"manufacturer": "Acme"}, "manufacturer", "approved"),
    # No asset term takes a language-tagged string (the asset shape wants xsd:string): a plain manufacturer
    # fails sh:languageIn; the DNO's labels (language-tagged, in the reference data) pass both.
    Kind("6-languageIn-uniqueLang", """
category:BESS sh:property [ sh:path fmar:manufacturer ; sh:languageIn ( "en" ) ; sh:uniqueLang true ;
        sh:message "manufacturer must be English text (a language-tagged string)" ] ,
    [ sh:path ( fmar:dno skos:prefLabel ) ; sh:minCount 1 ; sh:languageIn ( "en" "cy" ) ; sh:uniqueLang true ;
        sh:message "the DNO's labels must be in English or Welsh, one a language" ] .""",
         {"manufacturer": None}, {"manufacturer": "Tesla"}, "manufacturer", "English text"),
    Kind("7-nodeKind", """
category:BESS sh:nodeKind sh:IRI ;
    sh:property [ sh:path fmar:operatedBy ; sh:nodeKind sh:IRI ] ,
        [ sh:path fmar:ratedCapacity ; sh:nodeKind sh:Literal ] ,
        [ sh:path fmar:assetModel ; sh:nodeKind sh:BlankNodeOrIRI ;
          sh:message "assetModel must name a model record (an IRI), not text" ] .""",
         {"assetModel": None}, {"assetModel": "Powerwall 2"}, "assetModel", "not text"),
    # 8-9: helper shapes named by IRIs whose content is blank nodes (a 500 at publish)
    Kind("8-named-helper-by-sh:node", """
category:BESS sh:property [ sh:path fmar:serialNumber ; sh:node <https://w3id.org/fmar/shapes/category/BESS#Serial> ;
    sh:message "serialNumber must be PW- then digits" ] .
<https://w3id.org/fmar/shapes/category/BESS#Serial> a sh:NodeShape ;
    sh:and ( [ sh:pattern "^PW-" ] [ sh:pattern "^[^-]*-[0-9]+$" ] ) .""",
         {"serialNumber": "PW-0001"}, {"serialNumber": "PW-A001"}, "serialNumber", "PW- then digits"),
    Kind("9-named-prefixes", '''
<https://example.org/fmar-test/prefixes> sh:declare [ sh:prefix "fmar" ; sh:namespace "https://w3id.org/fmar#"^^xsd:anyURI ] .
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:prefixes <https://example.org/fmar-test/prefixes> ;
    sh:message "manufacturer must not be Acme" ;
    sh:select """SELECT $this (fmar:manufacturer AS ?path) ?value WHERE {
        $this fmar:manufacturer ?value . FILTER (STRSTARTS(STR(?value), "Acme")) }""" ] .''',
         {"manufacturer": "Tesla"}, {"manufacturer": "Acme Batteries"}, "manufacturer", "must not be Acme"),
    # 10: path expressions (turned into plain IRIs at publish)
    Kind("10a-sequence-path", """
category:BESS sh:property [ sh:path ( fmar:dno fmar:distributorId ) ; sh:minCount 1 ; sh:in ( "10" "12" ) ;
        sh:message "dno must be a UK Power Networks area with distributor id 10 or 12" ] ,
    [ sh:path ( fmar:operatedBy fmar:status ) ; sh:hasValue <https://w3id.org/fmar/code/OrganisationStatus/Active> ;
        sh:message "operatedBy must be an Active organisation" ] .""",
         {}, EAST_MIDLANDS, "dno", "distributor id 10 or 12"),
    Kind("10b-inverse-path", """
category:BESS sh:property [ sh:path fmar:gspGroup ;
    sh:node [ sh:property [ sh:path [ sh:inversePath fmar:gspGroup ] ; sh:hasValue dno:UKPN_EPN ] ] ;
    sh:message "gspGroup must be one that UK Power Networks (Eastern) serves" ] .""",
         {}, EAST_MIDLANDS, "gspGroup", "UK Power Networks (Eastern)"),
    Kind("10c-alternative-path", """
category:BESS sh:property [ sh:path [ sh:alternativePath ( fmar:importMPAN fmar:exportMPAN ) ] ;
    sh:minCount 1 ; sh:maxCount 1 ; sh:message "BESS takes one MPAN: an importMPAN or an exportMPAN" ] .""",
         {}, {"exportMPAN": FRESH}, "exportMPAN", "one MPAN"),
    # The asset itself and its operator: two values, one of them the pilot FSP (zero steps are a value too).
    Kind("10d-zeroOrMorePath", """
category:BESS sh:property [ sh:path [ sh:zeroOrMorePath fmar:operatedBy ] ; sh:minCount 2 ; sh:hasValue <ORG_FSP> ;
    sh:message "operatedBy must be the pilot FSP" ] .""",
         {}, {}, "operatedBy", "pilot FSP", failing_org="other"),
    # 11-17: accepted, then judged differently from pyshacl (or a 500)
    Kind("11a-nested-in", """
category:BESS sh:property [ sh:path fmar:dno ; sh:node [ sh:in ( dno:UKPN_EPN dno:UKPN_LPN dno:UKPN_SPN ) ] ;
    sh:message "dno must be a UK Power Networks area" ] .""",
         {}, EAST_MIDLANDS, "dno", "UK Power Networks area"),
    Kind("11b-nested-class", """
category:BESS sh:property [ sh:path fmar:operatedBy ; sh:node [ sh:class fmar:Organisation ] ] ,
    [ sh:path fmar:manufacturer ; sh:node [ sh:class fmar:Organisation ] ;
      sh:message "manufacturer must be a registered organisation" ] .""",
         {"manufacturer": None}, {"manufacturer": "Tesla"}, "manufacturer", "registered organisation"),
    Kind("11c-nested-pattern", """
category:BESS sh:property [ sh:path fmar:serialNumber ; sh:node [ sh:pattern "^PW-" ] ;
    sh:message "serialNumber must begin PW-" ] .""",
         {"serialNumber": "PW-0001"}, {"serialNumber": "SN-0001"}, "serialNumber", "begin PW-"),
    Kind("12-sparql-in-shape-reached-by-sh:node", '''
category:BESS sh:property [ sh:path fmar:operatedBy ;
    sh:node [ sh:sparql [ a sh:SPARQLConstraint ; sh:select """PREFIX fmar: <https://w3id.org/fmar#>
        SELECT $this WHERE {
            FILTER NOT EXISTS { $this fmar:hasRole <https://w3id.org/fmar/code/OrganisationRole/FSP> } }""" ] ] ;
    sh:message "operatedBy must hold the FSP role" ] .''',
         {}, {}, "operatedBy", "FSP role", failing_org="aggregator"),
    Kind("13a-deactivated-node-shape", """
category:BESS sh:property [ sh:path fmar:serialNumber ;
    sh:node <https://w3id.org/fmar/shapes/category/BESS#Legacy> , <https://w3id.org/fmar/shapes/category/BESS#Current> ;
    sh:message "serialNumber must begin PW-" ] .
<https://w3id.org/fmar/shapes/category/BESS#Legacy> a sh:NodeShape ; sh:deactivated true ; sh:pattern "^LEGACY-" .
<https://w3id.org/fmar/shapes/category/BESS#Current> a sh:NodeShape ; sh:pattern "^PW-" .""",
         {"serialNumber": "PW-0001"}, {"serialNumber": "SN-0001"}, "serialNumber", "begin PW-"),
    Kind("13b-deactivated-sparql-constraint", '''
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:deactivated true ; sh:message "deactivated: never reported" ;
        sh:select """PREFIX fmar: <https://w3id.org/fmar#>
            SELECT $this (fmar:assetName AS ?path) ?value WHERE { $this fmar:assetName ?value }""" ] ,
    ''' + _NO_ACME + " .",
         {"manufacturer": "Tesla"}, {"manufacturer": "Acme Batteries"}, "manufacturer", "must not be Acme"),
    Kind("13c-deactivated-property-under-closed", f"""
category:BESS sh:closed true ;
    sh:ignoredProperties ( rdf:type dcterms:identifier {_ALLOWED} ) ;
    sh:property [ sh:path fmar:manufacturer ; sh:deactivated true ; sh:pattern "^Acme" ] .""",
         {"assetModel": None}, {"assetModel": "Powerwall 2"}, "assetModel", ""),
    # With sh:targetClass the BESS shape applies to every asset: a SOLAR_PV asset needs a storageCapacity.
    Kind("14-targetClass", """
category:BESS sh:targetClass fmar:Asset .""",
         {"assetCategory": "SOLAR_PV", "energySource": "SOLAR", "importMPAN": None, "exportMPAN": FRESH},
         {"assetCategory": "SOLAR_PV", "energySource": "SOLAR", "importMPAN": None, "exportMPAN": FRESH,
          "storageCapacity": None}, "storageCapacity", "required for BESS"),
    Kind("15a-pattern-flags-m", """
category:BESS sh:property [ sh:path fmar:manufacturer ; sh:pattern "^Tesla$" ; sh:flags "m" ;
    sh:message "manufacturer must have a line that reads Tesla" ] .""",
         {"manufacturer": "Acme\nTesla"}, {"manufacturer": "Acme\nTesla Ltd"}, "manufacturer", "a line"),
    Kind("15b-pattern-flags-upper-I", """
category:BESS sh:property [ sh:path fmar:manufacturer ; sh:pattern "^tesla$" ; sh:flags "I" ;
    sh:message "manufacturer must be Tesla" ] .""",
         {"manufacturer": "Tesla"}, {"manufacturer": "Tesla Ltd"}, "manufacturer", "must be Tesla"),
    Kind("16-message-template", '''
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:message "manufacturer {?value} is not approved for BESS" ;
    sh:select """PREFIX fmar: <https://w3id.org/fmar#>
        SELECT $this (fmar:manufacturer AS ?path) ?value WHERE {
            $this fmar:manufacturer ?value . FILTER (STRSTARTS(STR(?value), "Acme")) }""" ] .''',
         {"manufacturer": "Tesla"}, {"manufacturer": "Acme Batteries"}, "manufacturer",
         "manufacturer Acme Batteries is not approved for BESS"),
    Kind("17a-sparql-with-sh:prefixes", '''
<https://w3id.org/fmar/shapes/category/BESS#prefixes>
    sh:declare [ sh:prefix "fmar" ; sh:namespace "https://w3id.org/fmar#"^^xsd:anyURI ] ,
        [ sh:prefix "dno" ; sh:namespace "https://w3id.org/fmar/code/DNOCode/"^^xsd:anyURI ] .
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:prefixes <https://w3id.org/fmar/shapes/category/BESS#prefixes> ;
    sh:message "dno must be UKPN_EPN" ;
    sh:select """SELECT $this (fmar:dno AS ?path) ?value WHERE {
        $this fmar:dno ?value . FILTER (?value != dno:UKPN_EPN) }""" ] .''',
         {}, EAST_MIDLANDS, "dno", "must be UKPN_EPN"),
    Kind("17b-sparql-without-WHERE", '''
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:message "serialNumber must not begin TEST" ;
    sh:select """PREFIX fmar: <https://w3id.org/fmar#>
        SELECT $this (fmar:serialNumber AS ?path) ?value {
            $this fmar:serialNumber ?value . FILTER (STRSTARTS(?value, "TEST")) }""" ] .''',
         {"serialNumber": "PW-0001"}, {"serialNumber": "TEST-0001"}, "serialNumber", "must not begin TEST"),
]


#: Kinds the registry does not enforce as pyshacl does yet: why, precisely (src is not this test's to change).
#: Kinds the registry does not yet judge as pyshacl does, each with why (a strict xfail). None today: the two
#: found when this file was written (a named helper of a delegated shape, SPARQL in a shape reached by sh:node)
#: are fixed.
BROKEN: dict[str, str] = {}


def _kinds() -> list[Any]:
    """Each kind as a parameter; those in BROKEN a strict xfail (the two engines disagree: an AssertionError)."""
    return [pytest.param(k, id=k.id, marks=[pytest.mark.xfail(strict=True, raises=AssertionError, reason=BROKEN[k.id])]
                         if k.id in BROKEN else []) for k in KINDS]


@pytest.mark.parametrize("kind", _kinds())
def test_a_kind_of_shape_is_published_as_submitted_and_enforced_as_pyshacl_does(
        world: World, orgs: Orgs, original: str, kind: Kind) -> None:
    turtle = original + PREFIXES + kind.turtle.replace("ORG_FSP", orgs.iris["fsp"])
    _publish(world, "BESS", turtle)
    engines = _judged_by_both(world)

    passing = world.client.post("/assets", json=_body(orgs.ids[kind.passing_org], kind.passing),
                                headers=_caller(world, orgs, kind.passing_org))
    assert passing.status_code == 201, passing.text
    failing = world.client.post("/assets", json=_body(orgs.ids[kind.failing_org], kind.failing),
                                headers=_caller(world, orgs, kind.failing_org))
    assert failing.status_code == 422 and failing.headers["content-type"] == "application/problem+json", failing.text
    _refused_naming(failing.json()["errors"], kind.term, kind.words)

    bodies = [_body(orgs.ids[kind.passing_org], kind.passing), _body(orgs.ids[kind.failing_org], kind.failing)]
    bulk = world.client.post("/assets/bulk", content="\n".join(json.dumps(b) for b in bodies).encode(),
                             headers={**_caller(world, orgs, kind.passing_org, kind.failing_org), **NDJSON})
    assert bulk.status_code == 200, bulk.text
    records = bulk.json()["records"]
    assert [r["status"] for r in records] == ["created", "rejected"], records
    _refused_naming(records[1]["violations"], kind.term, kind.words)

    assert engines.disagreements == []
    assert engines.compared >= 3  # the two single registrations and the batch, each judged by both engines


# ---------------------------------------------------------------------------------------------- refused at publish

_BROKEN_SPARQL = {  # (the query, words of the refusal)
    "does not parse": ("PREFIX fmar: <https://w3id.org/fmar#> SELECT $this WHERE { $this fmar:manufacturer ",
                       "does not parse"),
    "SERVICE": ("SELECT $this WHERE { SERVICE <http://example.org/sparql> { $this ?p ?o } }", "SERVICE"),
    "FROM": ("SELECT $this FROM <http://example.org/graph> WHERE { $this ?p ?o }", "FROM"),
    "MINUS": ("SELECT $this WHERE { $this ?p ?o MINUS { $this ?p 1 } }", "MINUS"),
    "VALUES": ("SELECT $this WHERE { VALUES ?o { 1 } $this ?p ?o }", "VALUES"),
    "nested SELECT": ("SELECT $this WHERE { { SELECT ?o WHERE { ?s ?p ?o } } }", "nested SELECT"),
    "AS $this": ("SELECT $this WHERE { BIND (1 AS $this) }", "pre-bound variable"),
}


def test_a_helper_shape_another_category_defines_is_refused_at_publish(world: World, original: str) -> None:
    """A helper named by an IRI publishes with its category, unless another part of the shapes defines it."""
    taken = original + PREFIXES + """category:BESS sh:property [ sh:path fmar:manufacturer ;
        sh:node <https://w3id.org/fmar/shapes#AssetCategoryCode> ] .
    <https://w3id.org/fmar/shapes#AssetCategoryCode> sh:closed true ."""
    before = world.snapshot()
    response = world.client.put("/categories/BESS?breaking=true", content=taken.encode(),
                                headers={**world.auth("admin"), **TURTLE})
    assert response.status_code == 422 and "already define" in response.json()["detail"], response.text
    assert "AssetCategoryCode" in response.json()["detail"]
    assert world.snapshot() == before


@pytest.mark.parametrize(("query", "words"), list(_BROKEN_SPARQL.values()), ids=list(_BROKEN_SPARQL))
def test_sparql_that_does_not_parse_or_reaches_out_is_refused_at_publish(world: World, original: str, query: str,
                                                                         words: str) -> None:
    turtle = original + PREFIXES + f"""
category:BESS sh:sparql [ a sh:SPARQLConstraint ; sh:message "never published" ; sh:select {json.dumps(query)} ] ."""
    versions = world.client.get("/categories").json()["items"]
    before = world.snapshot()
    response = world.client.put("/categories/BESS?breaking=true&reason=test", content=turtle.encode(),
                                headers={**world.auth("admin"), **TURTLE})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json" and words in response.json()["detail"]
    assert world.snapshot() == before
    assert world.client.get("/categories").json()["items"] == versions


# ---------------------------------------------------------------------------------------------- a new category

NEW = "STORAGE_HEATER"
NEW_SHAPE = f"""
<{SHAPES}{NEW}> a sh:NodeShape ;
    rdfs:label "Storage heater"@en ;
    fmar:forCategory <{CODE}AssetCategory/{NEW}> ;
    sh:property [ sh:path fmar:storageCapacity ; sh:minCount 1 ;
        sh:message "storageCapacity (kWh) is required for {NEW}" ] .
"""
NEW_CONCEPT = f"""
<{CODE}AssetCategory/{NEW}> skos:prefLabel "Storage heater"@en ;
    skos:definition "An electric heater that stores heat when electricity is cheap and gives it out later."@en .
"""


def test_an_admin_creates_a_category_with_its_code_and_first_version(world: World, orgs: Orgs) -> None:
    headers = {**world.auth("admin"), **TURTLE}
    before = world.snapshot()
    refusals = [  # (code, submission, caller, status, words of the refusal)
        (NEW, PREFIXES + NEW_SHAPE, headers, 422, "skos:prefLabel and skos:definition"),
        ("storage_heater", PREFIXES + NEW_SHAPE.replace(NEW, "storage_heater")
         + NEW_CONCEPT.replace(NEW, "storage_heater"), headers, 422, "cannot be a category code"),
        ("9HEATER", PREFIXES + NEW_SHAPE.replace(NEW, "9HEATER") + NEW_CONCEPT.replace(NEW, "9HEATER"), headers, 422,
         "cannot be a category code"),
        (NEW, PREFIXES + NEW_SHAPE + NEW_CONCEPT, {**world.auth("fsp", orgs.ids["fsp"]), **TURTLE}, 403, ""),
    ]
    for code_, turtle, caller, status, words in refusals:
        response = world.client.put(f"/categories/{code_}", content=turtle.encode(), headers=caller)
        assert response.status_code == status and words in response.json()["detail"], (code_, response.text)
    assert world.snapshot() == before
    assert NEW not in {i["code"] for i in world.client.get("/categories").json()["items"]}

    # Created (version 1); it reads back as submitted but for its code-list entry, which went to the code list.
    assert _publish(world, NEW, PREFIXES + NEW_SHAPE + NEW_CONCEPT, leave_out=URIRef(f"{CODE}AssetCategory/{NEW}")) == 1
    items = {i["code"]: i for i in world.client.get("/categories").json()["items"]}
    assert items[NEW]["version"] == 1 and items[NEW]["label"] == "Storage heater" and not items[NEW]["deprecated"]

    engines = _judged_by_both(world)
    fsp = orgs.ids["fsp"]
    passing, failing = {"assetCategory": NEW}, {"assetCategory": NEW, "storageCapacity": None}
    response = world.client.post("/assets", json=_body(fsp, passing), headers=world.auth("fsp", fsp))
    assert response.status_code == 201, response.text
    assert response.json()["assetCategory"] == NEW
    refused = world.client.post("/assets", json=_body(fsp, failing), headers=world.auth("fsp", fsp))
    assert refused.status_code == 422, refused.text
    _refused_naming(refused.json()["errors"], "storageCapacity", f"required for {NEW}")
    bodies = [_body(fsp, passing), _body(fsp, failing)]
    bulk = world.client.post("/assets/bulk", content="\n".join(json.dumps(b) for b in bodies).encode(),
                             headers={**world.auth("fsp", fsp), **NDJSON})
    assert bulk.status_code == 200, bulk.text
    assert [r["status"] for r in bulk.json()["records"]] == ["created", "rejected"]
    assert engines.disagreements == [] and engines.compared >= 3


# ------------------------------------------------------------------------------- a shape that cannot be evaluated


def test_a_shape_pyshacl_cannot_evaluate_fails_its_own_records_only(world: World, orgs: Orgs, original: str) -> None:
    """A delegated constraint pyshacl cannot load (a qualified count with no qualified shape, which the SHACL
    meta-shape lets through) fails the BESS records with a 422 naming why, never a 500; in a bulk batch the
    records of other categories are created beside them."""
    broken = original + PREFIXES + """<https://w3id.org/fmar/shapes/category/BESS> sh:property [
        sh:path fmar:manufacturer ; sh:qualifiedMinCount 1 ] ."""
    _publish(world, "BESS", broken)
    bess = world.client.post("/assets", json=_body(orgs.ids["fsp"], {}), headers=_caller(world, orgs, "fsp"))
    assert bess.status_code == 422, bess.text
    assert "could not be evaluated" in bess.text and "shapes/category/BESS" in bess.text
    solar = _body(orgs.ids["fsp"], {"assetCategory": "SOLAR_PV", "energySource": "SOLAR", "importMPAN": None,
                                    "exportMPAN": FRESH, "storageCapacity": None})
    bodies = [_body(orgs.ids["fsp"], {}), {k: v for k, v in solar.items() if v is not None}]
    bulk = world.client.post("/assets/bulk", content="\n".join(json.dumps(b) for b in bodies).encode(),
                             headers={**_caller(world, orgs, "fsp"), **NDJSON})
    assert bulk.status_code == 200, bulk.text
    assert [r["status"] for r in bulk.json()["records"]] == ["rejected", "created"], bulk.text
    _publish(world, "BESS", original)  # the shape in force again for the tests after this one


def test_a_created_category_s_history_begins_at_its_version_1(world: World, orgs: Orgs) -> None:
    if world.client.get(f"/categories/{NEW}").status_code == 404:
        test_an_admin_creates_a_category_with_its_code_and_first_version(world, orgs)
    versions = world.client.get(f"/categories/{NEW}/history").json()["versions"]
    assert [v["version"] for v in versions][:1] == [1]
