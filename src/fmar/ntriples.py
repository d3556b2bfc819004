"""N-Triples/N-Quads text of rdflib terms, written fast (bulk loads and audit change sets use it)."""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def term(node: Node) -> str:
    """One term in N-Triples syntax."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        text = '"' + str(node).translate(_ESCAPES) + '"'
        if node.language:
            return f"{text}@{node.language}"
        if node.datatype is not None and str(node.datatype) != _XSD_STRING:
            return f"{text}^^<{node.datatype}>"
        return text
    if isinstance(node, BNode):
        return f"_:{node}"
    raise TypeError(f"not an RDF term: {node!r}")


def quad_line(s: Node, p: Node, o: Node, g: Node | None = None) -> str:
    """One N-Quads line (an N-Triples line without ``g``)."""
    return f"{term(s)} {term(p)} {term(o)} {term(g)} .\n" if g is not None else f"{term(s)} {term(p)} {term(o)} .\n"
