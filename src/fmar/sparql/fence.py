"""The audit graph is append-only, even for the admin's SPARQL updates.

An update is read with rdflib's SPARQL parser (prefixes and the base resolved, so no spelling of the
audit graph's IRI escapes it) and refused if any operation names the audit graph, or writes through a
``GRAPH ?variable`` template that could reach it. ``CLEAR``/``DROP`` ``ALL``/``NAMED`` are narrowed to
every other graph, so the protocol's whole-store operations keep working on the records. An update the
parser cannot read is not run at all (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pyparsing import ParseException
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.term import URIRef, Variable

from fmar.sparql.lexer import Refused, Token


class AppendOnly(Refused):
    """The update would change or delete audit events."""


class Unchecked(Refused):
    """The update could not be read to check it (a syntax error, or SPARQL rdflib's parser cannot read):
    refused, not run unchecked (fail closed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, forbidden=False)


@dataclass(frozen=True)
class Fenced:
    """An update as it may run, and the named graphs it can read or write (None: any of them)."""

    text: str
    graphs: frozenset[str] | None


def fence(update: str, found: Sequence[Token], base_iri: str, protected: str, graphs: Sequence[str]) -> Fenced:
    """The update to run: ``CLEAR``/``DROP`` of ``ALL`` or ``NAMED`` spelled out as the graphs but ``protected``;
    :class:`AppendOnly` if it could change ``protected`` otherwise; :class:`Unchecked` if it cannot be read."""
    try:
        operations = translateUpdate(parseUpdate(update), base=base_iri).algebra
    except (ParseException, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise Unchecked(f"the update is not valid SPARQL 1.1 Update: {exc}") from exc
    audit = URIRef(protected)
    named: set[str] | None = set()
    for op in operations:
        if named is not None:
            named |= {str(t) for t in _terms(op) if isinstance(t, URIRef)}
            if ("graphiri" in op and op["graphiri"] in ("ALL", "NAMED")) or _graph_variable(op):
                named = None
        if any(term == audit for term in _terms(op)):
            raise AppendOnly(f"the update names the audit graph <{protected}>, which is append-only")
        templates = [op[key] for key in ("delete", "insert") if key in op] + [op] * (op.name == "DeleteWhere")
        for template in templates:
            if any(isinstance(g, Variable) for g in template["quads"] if "quads" in template):
                raise AppendOnly("a GRAPH ?variable in an update's template could reach the append-only audit "
                                 "graph: name the graphs")
    narrowed = _narrowed(update, found, [g for g in graphs if g != protected])
    return Fenced(narrowed, None if named is None else frozenset(named) & frozenset(graphs))


def _graph_variable(node: Any) -> bool:
    """Whether a ``GRAPH ?variable`` pattern is in an algebra node: it may read any named graph."""
    if isinstance(node, dict):
        if getattr(node, "name", None) == "Graph" and "term" in node and isinstance(node["term"], Variable):
            return True
        return any(_graph_variable(v) for v in node.values())
    if isinstance(node, list | tuple):
        return any(_graph_variable(v) for v in node)
    return False


def _terms(node: Any) -> Iterator[Any]:
    """Every term in an algebra node (nested values, lists, dicts' keys and values)."""
    if isinstance(node, URIRef | Variable):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _terms(key)
            yield from _terms(value)
    elif isinstance(node, list | tuple | set):
        for item in node:
            yield from _terms(item)


def _narrowed(update: str, found: Sequence[Token], graphs: Sequence[str]) -> str:
    """``CLEAR``/``DROP`` [``SILENT``] ``ALL``/``NAMED`` as one operation a graph (``ALL`` with the default graph)."""
    cuts = []
    for n, token in enumerate(found):
        if not token.is_word("CLEAR", "DROP"):
            continue
        rest = found[n + 1:n + 3]
        silent = bool(rest) and rest[0].is_word("SILENT")
        target = rest[1] if silent and len(rest) > 1 else rest[0] if rest else None
        if target is None or not target.is_word("ALL", "NAMED"):
            continue
        verb = token.text.upper()
        parts = [f"{verb} SILENT GRAPH <{g}>" for g in graphs]
        if target.text.upper() == "ALL":
            parts.append(f"{verb} {'SILENT ' if silent else ''}DEFAULT")
        cuts.append((token.start, target.start + len(target.text), " ;\n".join(parts) or "INSERT DATA { }"))
    for start, end, text in reversed(cuts):
        update = update[:start] + text + update[end:]
    return update
