"""RDF syntaxes written by Oxigraph: records as Turtle, N-Triples, RDF/XML or JSON-LD, and N-Quads in the
canonical form the store keeps (what the audit chain's hashes cover)."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Graph

from fmar.store.terms import to_oxigraph

SERIALISERS = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
               "application/rdf+xml": ox.RdfFormat.RDF_XML}
_SYNTAXES = {**SERIALISERS, "application/ld+json": ox.RdfFormat.JSON_LD}
PREFIXES = {"fmar": "https://w3id.org/fmar#", "dcterms": "http://purl.org/dc/terms/",
            "xsd": "http://www.w3.org/2001/XMLSchema#", "sh": "http://www.w3.org/ns/shacl#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": "http://www.w3.org/2002/07/owl#"}


def convert_ntriples(text: str, media: str) -> bytes:
    """N-Triples text as another RDF syntax (Turtle, RDF/XML, JSON-LD), written by Oxigraph."""
    triples = list(ox.parse(text.encode(), format=ox.RdfFormat.N_TRIPLES))
    output = ox.serialize(triples, format=_SYNTAXES[media], prefixes=PREFIXES if media == "text/turtle" else None)
    assert output is not None  # noqa: S101 - no output file given, so bytes come back
    return output


def serialize(graph: Graph, media: str) -> bytes:
    """A graph as Turtle, N-Triples or RDF/XML, written by Oxigraph (literals as the store keeps them)."""
    triples = []
    for s, p, o in graph:
        subject = to_oxigraph(s)
        if isinstance(subject, ox.Literal):
            raise TypeError("a literal cannot be a subject")
        triples.append(ox.Triple(subject, ox.NamedNode(str(p)), to_oxigraph(o)))
    triples.sort(key=str)
    output = ox.serialize(triples, format=SERIALISERS[media],
                          prefixes=PREFIXES if media == "text/turtle" else None)
    assert output is not None  # noqa: S101 - no output file given, so bytes come back
    return output


def canonical_nquads(nquads: str) -> str:
    """N-Quads as the store gives them back once written (typed literals in their canonical form, e.g.
    ``"…Z"`` for a UTC xsd:dateTime), in no particular order."""
    scratch = ox.Store()
    scratch.bulk_load(input=nquads.encode(), format=ox.RdfFormat.N_QUADS, lenient=True)
    output = scratch.dump(format=ox.RdfFormat.N_QUADS)
    assert output is not None  # noqa: S101 - no output file given, so bytes come back
    return output.decode()
