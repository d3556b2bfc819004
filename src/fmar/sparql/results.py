"""SPARQL 1.1 query results written from N-Triples terms: JSON, XML, CSV and TSV.

The registry writes them itself (rather than with pyoxigraph's serialiser) so that it can stop
at the row cap and at the time limit while reading; ``tests/sparql`` holds the output to what
pyoxigraph reads back, datatypes and language tags included.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape, quoteattr

from fmar.ntriples import XSD_STRING, parts

JSON, XML, CSV, TSV = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                       "text/tab-separated-values")
#: Media types for SELECT results (JSON first: the default) and for ASK results.
SOLUTIONS = [JSON, XML, CSV, TSV, "application/json"]
BOOLEAN = [JSON, XML, CSV, TSV, "application/json"]
#: RDF syntaxes for CONSTRUCT and DESCRIBE results (Turtle first: the default).
GRAPHS = ["text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]

Row = tuple[str | None, ...]


def boolean(value: bool, media: str) -> bytes:
    """An ASK answer; as CSV or TSV it is the bare word, as Oxigraph writes it."""
    if media in (CSV, TSV):
        return b"true" if value else b"false"
    if media == XML:
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n").encode()
    return json.dumps({"head": {}, "boolean": value}).encode()


def solutions(variables: Sequence[str], rows: Sequence[Row], media: str) -> bytes:
    if media == XML:
        return _xml(variables, rows)
    if media == CSV:
        return _csv(variables, rows)
    if media == TSV:
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join(term or "" for term in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    names = [_string(v) + ":" for v in variables]
    bindings = ",".join("{" + ",".join(n + _json_term(t) for n, t in zip(names, row, strict=True) if t is not None) + "}"
                        for row in rows)
    head = json.dumps({"vars": list(variables)}, ensure_ascii=False)
    return f'{{"head":{head},"results":{{"bindings":[{bindings}]}}}}'.encode()


_string: Callable[[str], str] = json.encoder.encode_basestring


def _json_term(nt: str) -> str:
    """One term as SPARQL JSON (written at C speed: a big answer has hundreds of thousands)."""
    if nt[0] == "<":
        return '{"type":"uri","value":' + _string(nt[1:-1]) + "}"
    if nt[0] == "_":
        return '{"type":"bnode","value":' + _string(nt[2:]) + "}"
    text, datatype, language = parts(nt)
    if language:
        return '{"type":"literal","value":' + _string(text) + ',"xml:lang":' + _string(language) + "}"
    if datatype and datatype != XSD_STRING:
        return '{"type":"literal","value":' + _string(text) + ',"datatype":' + _string(datatype) + "}"
    return '{"type":"literal","value":' + _string(text) + "}"


def _xml(variables: Sequence[str], rows: Sequence[Row]) -> bytes:
    out = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    out += [f"<variable name={quoteattr(v)}/>" for v in variables]
    out.append("</head><results>")
    for row in rows:
        out.append("<result>")
        for v, nt in zip(variables, row, strict=True):
            if nt is not None:
                out.append(f"<binding name={quoteattr(v)}>{_xml_term(nt)}</binding>")
        out.append("</result>")
    out.append("</results></sparql>\n")
    return "".join(out).encode()


def _xml_term(nt: str) -> str:
    if nt[0] == "<":
        return f"<uri>{escape(nt[1:-1])}</uri>"
    if nt[0] == "_":
        return f"<bnode>{escape(nt[2:])}</bnode>"
    text, datatype, language = parts(nt)
    if language:
        return f"<literal xml:lang={quoteattr(language)}>{escape(text)}</literal>"
    if datatype and datatype != XSD_STRING:
        return f"<literal datatype={quoteattr(datatype)}>{escape(text)}</literal>"
    return f"<literal>{escape(text)}</literal>"


def _csv(variables: Sequence[str], rows: Sequence[Row]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(variables)
    for row in rows:
        writer.writerow(["" if t is None else (t if t[0] == "_" else parts(t)[0]) for t in row])
    return buffer.getvalue().encode()
