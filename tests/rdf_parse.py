"""Parse any of the registry's RDF representations with pyoxigraph, keeping lexical forms exactly.

(rdflib's own JSON-LD parser rewrites some decimal literals, which would hide or fake differences.)
"""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from fmar.store.terms import to_rdflib

FORMATS = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
           "application/rdf+xml": ox.RdfFormat.RDF_XML, "application/ld+json": ox.RdfFormat.JSON_LD}


def parse_rdf(text: str, media: str, context: dict[str, Any] | None = None) -> Graph:
    """An rdflib graph of a response body; JSON-LD gets ``context`` inlined (never fetched)."""
    if media == "application/ld+json" and context is not None:
        text = json.dumps({**json.loads(text), "@context": context["@context"]})
    graph = Graph()
    for triple in ox.parse(text.encode(), format=FORMATS[media]):
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


def parse_nquads(text: str) -> set[tuple[Any, Any, Any, Any]]:
    """The quads of N-Quads text, as rdflib terms."""
    return {(to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object), to_rdflib(q.graph_name))
            for q in ox.parse(text.encode(), format=ox.RdfFormat.N_QUADS)}
