"""Terms as N-Triples text: the registry's fast form of RDF terms.

A term is written exactly as Oxigraph writes it: ``<iri>``, ``"text"``, ``"text"^^<datatype>``
or ``"text"@lang`` (xsd:string literals without their datatype). Such strings hash and compare
at C speed, go straight into N-Quads for a bulk load, and are what the compiled validator and
the bulk path work on; rdflib terms are made from them only where a service needs one.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f]')
_LONG = 4096
_NAMED_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_ESCAPED = re.compile(r'\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)', re.DOTALL)
_UNESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED_ESCAPES.get(char) or f"\\u{ord(char):04X}"


def quoted(text: str) -> str:
    """A string in N-Triples quotes, escaped as Oxigraph escapes it.

    A long text (an audit change set) is escaped by the JSON encoder instead, at C speed: JSON's
    string escapes are N-Triples escapes too, so it reads back the same, though not always spelt
    as Oxigraph would spell it (``\\u001b`` for ``\\u001B``)."""
    if len(text) > _LONG:
        return json.dumps(text, ensure_ascii=False)
    if _NEEDS_ESCAPE.search(text) is None:
        return f'"{text}"'
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def literal(text: str, datatype: str | None = None, language: str | None = None) -> str:
    """A literal term (no datatype, or xsd:string, gives a simple literal)."""
    if language:
        return f"{quoted(text)}@{language.lower()}"
    if datatype is None or datatype == XSD_STRING:
        return quoted(text)
    return f"{quoted(text)}^^<{datatype}>"


def term(node: Node) -> str:
    """An rdflib term in N-Triples syntax."""
    if isinstance(node, URIRef):
        return f"<{node}>"
    if isinstance(node, Literal):
        return literal(str(node), None if node.datatype is None else str(node.datatype), node.language)
    if isinstance(node, BNode):
        return f"_:{node}"
    raise TypeError(f"not an RDF term: {node!r}")


def quad_line(s: Node, p: Node, o: Node, g: Node | None = None) -> str:
    """One N-Quads line (an N-Triples line without ``g``)."""
    return f"{term(s)} {term(p)} {term(o)} {term(g)} .\n" if g is not None else f"{term(s)} {term(p)} {term(o)} .\n"


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] in "uU" and len(code) > 1 else _UNESCAPES.get(code, code)

    return _ESCAPED.sub(one, text)


@lru_cache(maxsize=1 << 16)
def parts(nt: str) -> tuple[str, str | None, str | None]:
    """(lexical form or IRI or blank node label, datatype IRI, language) of a term; literals only have the last two."""
    if nt[0] == "<":
        return nt[1:-1], None, None
    if nt[0] == "_":
        return nt[2:], None, None
    end = nt.rindex('"')
    text = _unescape(nt[1:end])
    rest = nt[end + 1:]
    if rest.startswith("^^<"):
        return text, rest[3:-1], None
    if rest.startswith("@"):
        return text, RDF_LANG_STRING, rest[1:]
    return text, XSD_STRING, None


def lexical(nt: str) -> str:
    """An IRI, or a literal's lexical form, of a term: :func:`parts` without its cache (for long values, read once)."""
    if nt[0] == "<":
        return nt[1:-1]
    if nt[0] == "_":
        return nt[2:]
    return _unescape(nt[1:nt.rindex('"')])


def is_literal(nt: str) -> bool:
    return nt[0] == '"'


def is_iri(nt: str) -> bool:
    return nt[0] == "<"


@lru_cache(maxsize=1 << 16)
def to_node(nt: str) -> Node:
    """The rdflib term of an N-Triples term."""
    if nt[0] == "<":
        return URIRef(nt[1:-1])
    if nt[0] == "_":
        return BNode(nt[2:])
    text, datatype, language = parts(nt)
    if language:
        return Literal(text, lang=language)
    return Literal(text) if datatype in (XSD_STRING, None) else Literal(text, datatype=URIRef(datatype))
