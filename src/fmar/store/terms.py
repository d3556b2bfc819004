"""rdflib terms to and from pyoxigraph's, and Oxigraph's test of an IRI."""

from __future__ import annotations

from functools import lru_cache

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.DefaultGraph | ox.Triple) -> Node:
    """Convert a pyoxigraph term to the rdflib term services use."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # RDF 1.1: a simple literal is an xsd:string
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


_NAMED: dict[str, ox.NamedNode] = {}


def named(iri: str) -> ox.NamedNode:
    """IRIs repeat (predicates, codes, graphs): convert each once."""
    node = _NAMED.get(iri)
    if node is None:
        if len(_NAMED) > 200_000:
            _NAMED.clear()
        node = _NAMED[iri] = ox.NamedNode(iri)
    return node


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to pyoxigraph."""
    if isinstance(term, URIRef):
        return named(term)
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=named(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"unsupported term {term!r}")


@lru_cache(maxsize=65536)
def valid_iri(iri: str) -> bool:
    """Whether Oxigraph takes ``iri`` as an IRI (RFC 3987: no spaces, percent-encodings of two hex digits…)."""
    try:
        ox.NamedNode(iri)
    except ValueError:
        return False
    return True
