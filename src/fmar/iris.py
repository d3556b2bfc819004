"""IRIs of the registry: ontology terms, code-list concepts, records and named graphs."""

from __future__ import annotations

import re
import uuid

from rdflib import Namespace, URIRef

FMAR = Namespace("https://w3id.org/fmar#")
CODE = "https://w3id.org/fmar/code/"
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
CONTEXT_URL = "https://w3id.org/fmar/context.jsonld"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def code(scheme: str, notation: str) -> URIRef:
    """The SKOS concept for a code, e.g. ``code("OrganisationStatus", "Active")``."""
    return URIRef(f"{CODE}{scheme}/{notation}")


def notation(concept: str) -> str:
    """The bare code of a code-list concept IRI."""
    return concept.rsplit("/", 1)[-1]


def new_id() -> str:
    """A fresh FMAR identifier: an opaque random UUID, never reused."""
    return str(uuid.uuid4())


class Iris:
    """Record and graph IRIs under one deployment's base IRI."""

    def __init__(self, base: str) -> None:
        self.base = base if base.endswith("/") else base + "/"
        self._org_graphs: dict[URIRef, URIRef] = {}
        self._asset_graphs: dict[tuple[URIRef, URIRef], URIRef] = {}

    def record(self, collection: str, identifier: str) -> URIRef:
        """``{base}{collection}/{id}``."""
        return URIRef(f"{self.base}{collection}/{identifier}")

    def graph(self, name: str) -> URIRef:
        """``{base}graph/{name}``: ontology, shapes, codes, reference, public, audit, org/{id}…"""
        return URIRef(f"{self.base}graph/{name}")

    def org_graph(self, org: URIRef) -> URIRef:
        """The restricted graph of one organisation's records."""
        graph = self._org_graphs.get(org)
        if graph is None:
            graph = self._org_graphs[org] = self.graph(f"org/{self.identifier(org)}")
        return graph

    def asset_graph(self, org: URIRef, area: URIRef | None) -> URIRef:
        """The graph of an organisation's assets in one DNO area (``graph/org/{id}/area/{code}``; its
        organisation graph for assets in no area): the restricted facts an SO of the area may read."""
        if area is None:
            return self.org_graph(org)
        key = (org, area)
        graph = self._asset_graphs.get(key)
        if graph is None:
            graph = self._asset_graphs[key] = URIRef(f"{self.org_graph(org)}/area/{notation(str(area))}")
        return graph

    @property
    def context_url(self) -> str:
        """This deployment's address of the published JSON-LD context."""
        return f"{self.base}context.jsonld"

    def identifier(self, iri: str) -> str:
        """The bare FMAR ID at the end of a record IRI."""
        return str(iri).rstrip("/").rsplit("/", 1)[-1]

    def parse(self, value: str, collection: str) -> URIRef | None:
        """Accept a bare FMAR ID or the record's IRI; None when it is neither."""
        value = value.strip()
        prefix = f"{self.base}{collection}/"
        if value.startswith(prefix):
            value = value[len(prefix):]
        return self.record(collection, value) if _UUID.match(value) else None
