"""JSON-LD in and out, against the published FMAR context.

Reading: a submission (JSON-LD or plain JSON using the data dictionary terms) becomes
an rdflib graph about one record. Only the registry's own context is accepted; it is
resolved locally, and any other ``@context`` URL is refused without being fetched.
Terms the context does not define are refused instead of being silently dropped.

Writing: a record's graph is framed and compacted back to the same terms.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from pyld import jsonld
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from fmar.errors import MalformedBody, Unprocessable
from fmar.graphs import new_graph
from fmar.iris import CONTEXT_URL
from fmar.ntriples import literal, term, to_node
from fmar.store.terms import valid_iri

_ALLOWED_KEYWORDS = {"@context", "@id", "@type"}
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_RDF_TYPE_NT = f"<{RDF_TYPE}>"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


class JsonLdContext:
    """The published context, its terms, and a document loader that never fetches."""

    def __init__(self, path: Path, deployment_url: str) -> None:
        self.document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.deployment_url = deployment_url
        self.urls = {CONTEXT_URL, deployment_url}
        self._flat_cache: dict[str, dict[str, tuple[Any, Any, Any]]] = {}
        self._reverse_cache: dict[str, dict[tuple[Node, str], str]] = {}
        self._typed_cache: dict[tuple[str, str], list[str]] = {}

    @cached_property
    def terms(self) -> frozenset[str]:
        """Every term the context defines, type-scoped terms included."""
        found: set[str] = set()

        def walk(ctx: dict[str, Any]) -> None:
            for key, value in ctx.items():
                if key.startswith("@"):
                    continue
                found.add(key)
                if isinstance(value, dict) and isinstance(value.get("@context"), dict):
                    walk(value["@context"])

        walk(self.document["@context"])
        return frozenset(found)

    @cached_property
    def term_for(self) -> dict[str, str]:
        """Predicate IRI → JSON-LD term (for naming the path of validation results)."""
        prefixes = {k: v for k, v in self.document["@context"].items() if isinstance(v, str) and v.endswith(("#", "/"))}
        mapping: dict[str, str] = {}

        def expand(iri: str) -> str:
            prefix, _, local = iri.partition(":")
            return prefixes[prefix] + local if prefix in prefixes else iri

        def walk(ctx: dict[str, Any]) -> None:
            for key, value in ctx.items():
                if key.startswith("@") or key in prefixes:
                    continue
                iri = value if isinstance(value, str) else value.get("@id", "")
                if iri and not iri.startswith("@"):
                    mapping.setdefault(expand(iri), key)
                if isinstance(value, dict) and isinstance(value.get("@context"), dict):
                    walk(value["@context"])

        walk(self.document["@context"])
        return mapping

    def load_document(self, url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """pyld document loader: the FMAR context only; everything else is refused unfetched."""
        if url in self.urls:
            return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                    "document": copy.deepcopy(self.document)}
        raise Unprocessable(f"@context {url!r} is not the FMAR context; only {CONTEXT_URL} is accepted "
                            "and no other context is ever fetched", pointer="/@context")

    @property
    def options(self) -> dict[str, Any]:
        return {"documentLoader": self.load_document}

    # ------------------------------------------------------------------ reading

    def read(self, body: dict[str, Any], *, record: URIRef, record_type: str) -> Graph:
        """Turn a submission about ``record`` into a graph with skolemised nested nodes."""
        graph = new_graph()
        for triple in self.read_triples(body, record=record, record_type=record_type):
            graph.add(triple)
        return graph

    def read_triples(self, body: dict[str, Any], *, record: URIRef, record_type: str) -> list[tuple[Node, Node, Node]]:
        """The triples of a submission, as rdflib terms."""
        return [(to_node(s), to_node(p), to_node(o)) for s, p, o in self.read_terms(body, record=record, record_type=record_type)]

    def read_terms(self, body: dict[str, Any], *, record: URIRef, record_type: str) -> list[tuple[str, str, str]]:
        """The triples of a submission as N-Triples terms: compiled for flat ones, by the JSON-LD algorithm otherwise."""
        if not isinstance(body, dict):
            raise Unprocessable("the body must be a JSON object")
        doc = dict(body)
        self._check_context(doc.get("@context"))
        nested = any(isinstance(v, dict | list) for v in doc.values())
        keys = set(self._keys(doc)) if nested else doc.keys() - {"@context"}
        unknown = sorted(keys - self.terms - _ALLOWED_KEYWORDS)
        if unknown:
            raise Unprocessable(f"unknown term(s): {', '.join(unknown)}; see {self.deployment_url}",
                                unknownTerms=unknown)
        if nested:
            _check_nested_ids(doc, str(record))
        given_type = doc.get("type", doc.get("@type", record_type))
        if given_type != record_type:
            raise Unprocessable(f"type must be {record_type!r}, not {given_type!r}", pointer="/type")
        doc["@context"] = CONTEXT_URL
        doc["type"] = record_type
        doc.pop("@type", None)
        doc["id"] = str(record)
        doc.pop("@id", None)
        flat = self.flat_terms(doc, record_type)
        subject = f"<{record}>"
        if flat is not None:
            triples = [(subject, p, o) for p, o in flat]
        else:
            triples = [(term(s), term(p), term(o)) for s, p, o in self.expanded_graph(doc, record)]
        for s, p, o in triples:
            for node in (s, o):
                if node[0] == "<" and not valid_iri(node[1:-1]):
                    name = self.term_for.get(p[1:-1], p)
                    raise Unprocessable(f"{name}: {node[1:-1].rsplit('/', 1)[-1]!r} is neither a code nor an IRI",
                                        pointer=f"/{name}")
        return triples

    def expanded_graph(self, doc: dict[str, Any], record: URIRef) -> Graph:
        """The full JSON-LD to RDF algorithm (pyld), nested nodes skolemised under ``record``."""
        try:
            nquads = jsonld.to_rdf(doc, {**self.options, "format": "application/n-quads"})
        except Unprocessable:
            raise
        except jsonld.JsonLdError as exc:
            cause = exc.cause if isinstance(getattr(exc, "cause", None), Unprocessable) else None
            if cause is not None:
                raise cause from exc
            raise Unprocessable(f"malformed JSON-LD: {exc.type if hasattr(exc, 'type') else exc}") from exc
        graph = new_graph()
        graph.parse(data=nquads, format="nt")
        return skolemise(graph, record)

    def flat_triples(self, doc: dict[str, Any], record: URIRef, record_type: str) -> list[tuple[Node, Node]] | None:
        """:meth:`flat_terms` as rdflib terms."""
        flat = self.flat_terms(doc, record_type)
        return None if flat is None else [(to_node(p), to_node(o)) for p, o in flat]

    def flat_terms(self, doc: dict[str, Any], record_type: str) -> list[tuple[str, str]] | None:
        """(predicate, object) terms of a flat submission, by the compiled context; None when only full
        JSON-LD processing will do.

        Flat means plain values (strings, numbers, booleans, lists of them) under terms of the
        record type. The result is the one ``pyld`` gives (the tests hold the two to it), without
        running the JSON-LD algorithms for every record of a bulk import.
        """
        terms = self._compiled_terms(record_type)
        out: list[tuple[str, str]] = [(_RDF_TYPE_NT, terms["@type"][0])]
        for key, value in doc.items():
            if key in ("@context", "id", "type"):
                continue
            definition = terms.get(key)
            if definition is None:
                return None
            predicate, coercion, base = definition
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    continue
                obj = _flat_object(item, coercion, base, terms)
                if obj is None:
                    return None
                out.append((predicate, obj))
        return out

    def terms_typed(self, record_type: str, datatype: str) -> list[str]:
        """The terms of a record type whose values the context types as ``datatype`` (e.g. xsd:decimal); cached."""
        key = (record_type, datatype)
        if key not in self._typed_cache:
            self._typed_cache[key] = [name for name, (_, coercion, _) in self._compiled_terms(record_type).items()
                                      if coercion == datatype]
        return self._typed_cache[key]

    def _compiled_terms(self, record_type: str) -> dict[str, tuple[Any, Any, Any]]:
        """Term → (predicate as N-Triples, coercion, vocabulary base) for one record type; cached."""
        cached = self._flat_cache.get(record_type)
        if cached is not None:
            return cached
        ctx = self.document["@context"]
        prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith(("#", "/"))}

        def expand(iri: str) -> str:
            prefix, _, local = iri.partition(":")
            return prefixes[prefix] + local if prefix in prefixes else iri

        merged = {**ctx, **ctx.get(record_type, {}).get("@context", {})} if isinstance(ctx.get(record_type), dict) else ctx
        compiled: dict[str, tuple[Any, Any, Any]] = {"@type": ("<" + expand(ctx[record_type]["@id"]
                                                                            if isinstance(ctx[record_type], dict)
                                                                            else ctx[record_type]) + ">", None, None)}
        for name, definition in merged.items():
            if name.startswith("@") or name in prefixes or name in ("id", "type"):
                continue
            if isinstance(definition, str):
                compiled[name] = (f"<{expand(definition)}>", None, None)
            elif isinstance(definition, dict) and "@id" in definition:
                coercion = definition.get("@type")
                base = definition.get("@context", {}).get("@vocab") if coercion == "@vocab" else None
                compiled[name] = (f"<{expand(definition['@id'])}>",
                                  expand(coercion) if coercion and not coercion.startswith("@") else coercion, base)
        self._flat_cache[record_type] = compiled
        return compiled

    def _check_context(self, ctx: Any) -> None:
        values = ctx if isinstance(ctx, list) else [ctx]
        for value in values:
            if value is None:
                continue
            if isinstance(value, str):
                self.load_document(value)  # refuses anything but our own context
            else:
                raise Unprocessable("an inline @context is not accepted; use the FMAR context URL "
                                    f"{CONTEXT_URL} or omit @context", pointer="/@context")

    def _keys(self, node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "@context":
                    continue
                yield key
                yield from self._keys(value)
        elif isinstance(node, list):
            for item in node:
                yield from self._keys(item)

    # ------------------------------------------------------------------ writing

    def write(self, graph: Graph, record: URIRef) -> dict[str, Any]:
        """A record's graph as compacted JSON-LD (nested objects embedded): compiled for flat records."""
        flat = self.flat_document(graph, record)
        return flat if flat is not None else self.framed_document(graph, record)

    def flat_document(self, graph: Graph, record: URIRef) -> dict[str, Any] | None:
        """The compacted document of a flat record (no nested nodes) by the compiled context; None otherwise.

        The same document pyld's framing gives (the tests hold the two to it), in a fraction of the time.
        """
        types = list(graph.objects(record, RDF_TYPE))
        record_type = next((name for name, iri in self._type_terms.items() if iri in types), None)
        if record_type is None or len(types) != 1:
            return None
        terms = self._compiled_terms(record_type)
        reverse = self._reverse_terms(record_type)
        doc: dict[str, Any] = {"@context": self.deployment_url, "id": str(record), "type": record_type}
        for p, o in graph.predicate_objects(record):
            if p == RDF_TYPE:
                continue
            term = reverse.get((p, _kind(o)))
            if term is None:
                return None
            _, coercion, base = terms[term]
            value = _compact_value(o, coercion, base, self._prefix_iris)
            if value is None:
                return None
            doc.setdefault(term, []).append(value)
        if any(s != record for s in graph.subjects()):
            return None
        for term, values in list(doc.items()):
            if isinstance(values, list):
                values.sort(key=lambda v: (str(type(v)), v))
                if len(values) == 1 and term not in self._set_terms:
                    doc[term] = values[0]
        return doc

    @cached_property
    def _type_terms(self) -> dict[str, URIRef]:
        ctx = self.document["@context"]
        found = {}
        for name, definition in ctx.items():
            iri = definition.get("@id") if isinstance(definition, dict) else definition
            if isinstance(iri, str) and name[:1].isupper() and not iri.startswith("@"):
                found[name] = URIRef(self._expand(iri))
        return found

    def _expand(self, iri: str) -> str:
        prefix, _, local = iri.partition(":")
        return self._prefixes[prefix] + local if prefix in self._prefixes else iri

    @cached_property
    def _prefixes(self) -> dict[str, str]:
        return {k: v for k, v in self.document["@context"].items() if isinstance(v, str) and v.endswith(("#", "/"))}

    @cached_property
    def _prefix_iris(self) -> tuple[str, ...]:
        return tuple(self._prefixes.values())

    @cached_property
    def _set_terms(self) -> frozenset[str]:
        out = set()

        def walk(ctx: dict[str, Any]) -> None:
            for key, value in ctx.items():
                if isinstance(value, dict):
                    if value.get("@container") == "@set":
                        out.add(key)
                    if isinstance(value.get("@context"), dict):
                        walk(value["@context"])
        walk(self.document["@context"])
        return frozenset(out)

    def _reverse_terms(self, record_type: str) -> dict[tuple[Node, str], str]:
        """(predicate, kind of value) → the term compaction picks, for one record type (cached)."""
        if record_type in self._reverse_cache:
            return self._reverse_cache[record_type]
        reverse: dict[tuple[Node, str], str] = {}
        for name, (predicate_nt, coercion, _) in self._compiled_terms(record_type).items():
            if name.startswith("@"):
                continue
            predicate = to_node(predicate_nt)
            kind = "iri" if coercion in ("@id", "@vocab") else (coercion or "plain")
            if (predicate, kind) in reverse:  # two terms could claim it: let pyld decide
                reverse[(predicate, kind)] = ""
            else:
                reverse[(predicate, kind)] = name
        self._reverse_cache[record_type] = {k: v for k, v in reverse.items() if v}
        return self._reverse_cache[record_type]

    def framed_document(self, graph: Graph, record: URIRef) -> dict[str, Any]:
        """Frame a record's graph as compacted JSON-LD with nested objects embedded (pyld)."""
        nquads = "\n".join(sorted(graph.serialize(format="nt").splitlines()))  # stable order of @set values
        expanded = jsonld.from_rdf(nquads, {"format": "application/n-quads"})
        frame = {"@context": self.deployment_url, "@id": str(record), "@embed": "@always"}
        framed: dict[str, Any] = jsonld.frame(expanded, frame, {**self.options, "omitGraph": True})
        framed["@context"] = self.deployment_url
        return framed


def skolemise(graph: Graph, record: URIRef) -> Graph:
    """Name nested blank nodes ``{record}#{term}`` so records hold no blank nodes."""
    names: dict[Node, URIRef] = {}
    used: set[str] = set()

    def name_children(parent: Node, parent_iri: str) -> None:
        for p, o in sorted(graph.predicate_objects(parent), key=lambda po: (str(po[0]), str(po[1]))):
            if isinstance(o, BNode) and o not in names:
                local = str(p).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
                base = f"{parent_iri}#{local}" if "#" not in parent_iri else f"{parent_iri}-{local}"
                candidate, n = base, 1
                while candidate in used:
                    n += 1
                    candidate = f"{base}-{n}"
                used.add(candidate)
                names[o] = URIRef(candidate)
                name_children(o, candidate)

    name_children(record, str(record))
    out = new_graph()
    for s, p, o in graph:
        out.add((names.get(s, s), p, names.get(o, o)))
    return out


_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|\\^`\x7f]*$")


def _flat_object(item: Any, coercion: Any, base: str | None, terms: dict[str, Any]) -> str | None:
    """One value as JSON-LD 1.1 turns it into RDF (an N-Triples term); None when the value needs the full algorithm."""
    if type(item) is str and coercion not in ("@id", "@vocab"):  # the common case first
        return _literal(item, coercion)
    if isinstance(item, dict | list):
        return None
    if coercion == "@id":
        return f"<{item}>" if isinstance(item, str) and _ABSOLUTE_IRI.match(item) and ":" in item else None
    if coercion == "@vocab":
        if not isinstance(item, str) or ":" in item or item in terms or base is None:
            return None
        return f"<{base}{item}>" if _ABSOLUTE_IRI.match(base + item) else None
    if isinstance(item, bool):
        return literal("true" if item else "false", coercion or XSD_BOOLEAN)
    if isinstance(item, int | float):
        integral = isinstance(item, int) or (item.is_integer() and abs(item) < 1e21)
        if coercion == XSD_DOUBLE or not integral:
            return literal(_canonical_double(float(item)), coercion or XSD_DOUBLE)
        return literal(str(int(item)), coercion or XSD_INTEGER)
    if isinstance(item, str):
        return _literal(item, coercion)
    return None


@lru_cache(maxsize=65536)
def _literal(text: str, datatype: str | None) -> str:
    """Literals repeat (dates, capacities, makers)."""
    return literal(text, datatype)


def _kind(node: Node) -> str:
    if isinstance(node, URIRef):
        return "iri"
    if isinstance(node, Literal):
        if node.language:
            return "lang"
        return str(node.datatype) if node.datatype is not None and str(node.datatype) != XSD_STRING else "plain"
    return "blank"


def _compact_value(node: Node, coercion: Any, base: str | None, prefix_iris: tuple[str, ...]) -> Any:
    """A value as compaction writes it under a term of that coercion; None when only pyld can say."""
    text = str(node)
    if coercion == "@vocab":
        if base is not None and text.startswith(base) and text != base and ":" not in text[len(base):]:
            return text[len(base):]
        return None
    if coercion == "@id":
        return None if text.startswith(prefix_iris) else text
    return text


def _canonical_double(value: float) -> str:
    """The canonical xsd:double lexical form JSON-LD uses (1.25E0)."""
    mantissa, exponent = f"{value:.15E}".split("E")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}E{int(exponent)}"


def _check_nested_ids(doc: dict[str, Any], record: str) -> None:
    """Nested objects belong to the record: they may only be named ``{record}#…`` (as the registry names them)."""
    def walk(node: Any, top: bool) -> None:
        if isinstance(node, dict):
            for key in ("id", "@id"):
                value = node.get(key)
                if not top and value is not None and not (isinstance(value, str) and value.startswith(record + "#")):
                    raise Unprocessable(f"a nested object's id must be left out or start with {record}#; "
                                        "refer to other records by their ID instead", value=str(value))
            for key, value in node.items():
                if key != "@context":
                    walk(value, False)
        elif isinstance(node, list):
            for item in node:
                walk(item, False)

    walk(doc, True)


def parse_json(raw: bytes) -> Any:
    """Parse a JSON body, refusing malformed input clearly."""
    try:
        return loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBody(f"malformed JSON: {exc}") from exc
    except ValueError as exc:
        raise MalformedBody(str(exc)) from exc


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: The deepest nesting of objects and arrays a JSON body may have (a record nests two or three levels).
MAX_DEPTH = 32


def loads(text: str | bytes) -> Any:
    """``json.loads``, refusing (ValueError) JSON nested deeper than :data:`MAX_DEPTH`, and strings that are not
    Unicode text: a ``\\ud800``-style escape left without its pair decodes to a lone surrogate, which no RDF
    store can hold."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"the JSON is nested more than {MAX_DEPTH} levels deep") from None
    source = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
    _check(value, "\\u" in source and _SURROGATE_ESCAPE.search(source) is not None)
    return value


def _check(value: Any, surrogates: bool) -> None:
    """Walk a parsed document (without recursion): its depth, and (``surrogates``) its strings."""
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            todo.extend((child, depth + 1) for child in children if surrogates or isinstance(child, dict | list))
        elif surrogates and isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(f"the JSON holds a lone surrogate escape ({item[exc.start]!r}): "
                                 "not Unicode text; send the pair or the character itself") from exc
