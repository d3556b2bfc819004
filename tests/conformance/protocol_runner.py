"""A runner for the W3C SPARQL 1.1 Protocol test suite (``../shared/w3c/sparql11-protocol``, read in place).

Each manifest entry is one or more HTTP requests in the W3C HTTP vocabulary, with the expected status
class, result format and (for ASK) boolean. The runner loads the entry's ``ut:graphData`` into the
named graphs the manifest gives, replays the requests in order against a target, and says what
differs. Targets: the registry (``/sparql``, with an admin token, on a throwaway store) and the
Oxigraph server (``/query``, ``/update``), which checks the runner itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import httpx
from rdflib import Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS
from rdflib.term import Node

from tests.w3c import MF, W3C, missing

SUITE = W3C / "sparql11-protocol"
NAME = "W3C SPARQL 1.1 Protocol test suite"
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json", "application/n-quads",
             "application/trig"}


@dataclass
class Step:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None
    statuses: set[int]  # accepted status classes: 2, 3, 4
    result_format: str | None = None
    boolean: bool | None = None


@dataclass
class Case:
    name: str
    title: str
    data: list[tuple[str, str]] = field(default_factory=list)  # (graph IRI, N-Triples file in the suite)
    steps: list[Step] = field(default_factory=list)


def cases() -> list[Case]:
    """Every entry of the manifest, in its order."""
    if not (SUITE / "manifest.ttl").is_file():
        raise FileNotFoundError(missing(SUITE, NAME))
    manifest = Graph().parse(SUITE / "manifest.ttl", format="turtle")
    root = next(manifest.subjects(RDF.type, MF.Manifest))
    found = []
    for entry in Collection(manifest, manifest.value(root, MF.entries)):
        case = Case(str(entry).rsplit("#", 1)[-1], str(manifest.value(entry, MF.name)))
        for data in manifest.objects(entry, UT.graphData):
            case.data.append((str(manifest.value(data, RDFS.label)), Path(str(manifest.value(data, UT.graph))).name))
        action = manifest.value(entry, MF.action)
        for request in Collection(manifest, manifest.value(action, HT.requests)):
            case.steps.append(_step(manifest, request))
        found.append(case)
    return found


def _step(g: Graph, request: Node) -> Step:
    headers = {}
    listed = g.value(request, HT.headers)
    if listed is not None:
        for header in Collection(g, listed):
            headers[str(g.value(header, HT.fieldName))] = str(g.value(header, HT.fieldValue))
    body = None
    content = g.value(request, HT.body)
    if content is not None:
        encoding = str(g.value(content, CNT.characterEncoding) or "UTF-8")
        body = str(g.value(content, CNT.chars)).encode("utf-16" if encoding.upper() == "UTF-16" else "utf-8")
    response = g.value(request, HT.resp)
    statuses = {int(str(s).rsplit("StatusCode", 1)[1][0]) for s in g.objects(response, MF.expectedStatus)}
    fmt, expected = g.value(response, MF.expectedFormat), g.value(response, MF.expectedBoolean)
    return Step(str(g.value(request, HT.methodName)), str(g.value(request, HT.absolutePath)), headers, body,
                statuses, None if fmt is None else str(fmt), None if expected is None else bool(expected.toPython()))


@dataclass
class Target:
    """Where the suite runs: ``url`` maps a manifest path (query or update) to a URL; ``load`` puts an
    N-Triples file into a named graph; ``headers`` go with every request."""

    url: Callable[[str, bool], str]
    load: Callable[[str, str], None]
    reset: Callable[[], None]
    headers: dict[str, str] = field(default_factory=dict)


def is_update(step: Step) -> bool:
    """Whether a request is sent to an update endpoint (a GET never is: the protocol has no update by GET)."""
    content_type = step.headers.get("content-type", "")
    return step.method != "GET" and (content_type.startswith("application/sparql-update")
            or (content_type.startswith("application/x-www-form-urlencoded") and step.body is not None
                and step.body.startswith(b"update=")))


def run(case: Case, target: Target, client: httpx.Client) -> list[str]:
    """Replay one entry; the differences from what the manifest expects (none when it passes)."""
    target.reset()
    for graph, path in case.data:
        target.load(graph, (SUITE / path).read_text(encoding="utf-8"))
    problems = []
    for n, step in enumerate(case.steps):
        response = client.request(step.method, target.url(step.path, is_update(step)), content=step.body,
                                  headers={**target.headers, **step.headers})
        label = f"{case.name} request {n + 1}"
        if response.status_code // 100 not in step.statuses:
            problems.append(f"{label}: status {response.status_code}, expected {sorted(step.statuses)}xx: "
                            f"{response.text[:300]}")
            continue
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if step.result_format == "boolean" and media not in BOOLEAN_TYPES:
            problems.append(f"{label}: {media!r} is not a boolean result format")
        elif step.result_format == "tabular" and media not in TABULAR_TYPES:
            problems.append(f"{label}: {media!r} is not a tabular result format")
        elif step.result_format == "RDF" and media not in RDF_TYPES:
            problems.append(f"{label}: {media!r} is not an RDF format")
        if step.boolean is not None and media in BOOLEAN_TYPES and _boolean(response.content, media) != step.boolean:
            problems.append(f"{label}: answered {not step.boolean}, expected {step.boolean}")
    return problems


def _boolean(body: bytes, media: str) -> bool:
    if media.endswith("+json"):
        return bool(json.loads(body)["boolean"])
    tag = "{http://www.w3.org/2005/sparql-results#}boolean"
    element = ElementTree.fromstring(body).find(tag)  # noqa: S314 - answers of the test's own servers
    return element is not None and (element.text or "").strip() == "true"


def endpoint_path(path: str, endpoint: str) -> str:
    """A manifest path (``/sparql/…``) on another endpoint path."""
    rest = path[len("/sparql/"):] if path.startswith("/sparql/") else path.lstrip("/")
    return endpoint + rest if rest.startswith("?") or not rest else f"{endpoint}/{rest}"

