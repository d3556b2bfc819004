"""Bulk registration (the UC-02.02 bulk alternative): NDJSON or CSV in, one report line per record out.

Each record is all-or-nothing and a bad record never blocks the good ones: records are read,
checked and validated in batches, and each batch's accepted records are written together
through the write path's batch commit (one audit event per batch).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from fmar.access.principal import Principal
from fmar.arm.assets import ASSET_STATUS, MPAN_TERMS
from fmar.errors import FmarError, Unprocessable
from fmar.iris import DCTERMS, FMAR, code, new_id
from fmar.writepath import BatchItem, commit_batch

if TYPE_CHECKING:
    from fmar.registry import Registry

_PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>\n"
# One look-up per batch: the registered assets on the batch's MPANs (MPAN first, so it is an index look-up).
_ON_MPANS = _PREFIXES + """SELECT ?asset ?p ?mpan ?serial ?id ?org ?status WHERE {
  VALUES ?mpan { %s }
  { ?asset fmar:importMPAN ?mpan BIND(fmar:importMPAN AS ?p) } UNION { ?asset fmar:exportMPAN ?mpan BIND(fmar:exportMPAN AS ?p) }
  ?asset fmar:operatedBy ?org ; fmar:status ?status ; dcterms:identifier ?id .
  OPTIONAL { ?asset fmar:serialNumber ?serial } }"""
_FRIENDLY = _PREFIXES + """SELECT ?org ?code ?id WHERE {
  VALUES ?code { %s }
  ?asset fmar:friendlyCode ?code ; fmar:operatedBy ?org ; dcterms:identifier ?id . }"""
_DEREGISTERED = code("AssetStatus", "Deregistered")
PENDING = code(ASSET_STATUS, "PendingValidation")

_RESUME = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?id WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; fmar:requestId ?id } FILTER STRSTARTS(?id, ?prefix) }"""

#: One input record: its index, its body (None when unreadable) and why it could not be read.
Row = tuple[int, dict[str, Any] | None, str | None]


@dataclass
class RecordReport:
    """The report line of one input record."""

    index: int
    status: str  # created | rejected | duplicate
    id: str | None = None
    violations: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.id:
            body["id"] = self.id
        if self.violations:
            body["violations"] = self.violations
        return body


def summary(reports: Iterable[RecordReport]) -> dict[str, int]:
    """Counts of created, rejected and duplicate records."""
    counts = {"created": 0, "rejected": 0, "duplicate": 0}
    for report in reports:
        counts[report.status] += 1
    counts["total"] = sum(counts.values())
    return counts


def read_ndjson(lines: Iterable[str | bytes]) -> Iterator[Row]:
    """One JSON object per line; blank lines are skipped, a broken line is a rejected record."""
    index = 0
    for line in lines:
        text = line.decode("utf-8", errors="replace") if isinstance(line, bytes) else line
        if not text.strip():
            continue
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            yield index, None, f"line is not JSON: {exc}"
        else:
            yield (index, body, None) if isinstance(body, dict) else (index, None, "line is not a JSON object")
        index += 1


def read_csv(text: Iterable[str], terms: frozenset[str]) -> Iterator[Row]:
    """A header row of data dictionary terms, then one record a row; empty cells are left out."""
    reader = csv.reader(text)
    header = next(reader, None)
    if not header:
        raise Unprocessable("the CSV has no header row; name the data dictionary terms in the first row")
    header = [h.strip() for h in header]
    unknown = sorted({h for h in header if h not in terms and h != "justification"})
    if unknown or len(set(header)) != len(header):
        raise Unprocessable(f"the CSV header names unknown or repeated terms: {', '.join(unknown) or 'repeated'}",
                            unknownTerms=unknown)
    for index, row in enumerate(reader):
        if len(row) != len(header):
            yield index, None, f"row has {len(row)} fields; the header has {len(header)}"
            continue
        yield index, {k: v for k, v in zip(header, row, strict=True) if v.strip() != ""}, None


def csv_lines(raw: bytes) -> Iterator[str]:
    """Text lines of an uploaded CSV (UTF-8, with or without a byte-order mark)."""
    return iter(io.StringIO(raw.decode("utf-8-sig", errors="replace"), newline=""))


@dataclass
class _Prepared:
    index: int
    item: BatchItem
    serial: Node | None = None
    mpans: list[Node] = field(default_factory=list)
    friendly: Node | None = None


class BulkImport:
    """Registers assets in batches through the write path's batch commit."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry

    def run(self, principal: Principal, rows: Iterable[Row], batch_size: int = 1000, request_id: str | None = None,
            tag: Callable[[int], str] | None = None) -> Iterator[RecordReport]:
        """Report lines in input order, a batch at a time (so a huge file needs little memory).

        ``tag`` names each batch's audit event from the index of its last record (resumable imports)."""
        self.r.policy.require_role(principal, "asset.create")
        batch: list[Row] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                yield from self._batch(principal, batch, tag(batch[-1][0]) if tag else request_id)
                batch = []
        if batch:
            yield from self._batch(principal, batch, tag(batch[-1][0]) if tag else request_id)

    def resume_point(self, import_id: str) -> int:
        """The index of the last record an earlier run of this import committed (-1 if none)."""
        rows = self.r.store.select(_RESUME, bindings={"prefix": Literal(f"import:{import_id}:")})
        return max((int(str(r["id"]).rsplit(":", 1)[1]) for r in rows), default=-1)

    def _batch(self, principal: Principal, rows: Sequence[Row], request_id: str | None) -> list[RecordReport]:
        now = Literal(datetime.now(UTC).isoformat(timespec="seconds"), datatype=XSD.dateTime)
        reports: dict[int, RecordReport] = {}
        prepared: list[_Prepared] = []
        for index, body, problem in rows:
            if body is None:
                reports[index] = RecordReport(index, "rejected", violations=[_problem(problem or "unreadable")])
                continue
            try:
                prepared.append(self._prepare(principal, index, body, now))
            except FmarError as exc:
                reports[index] = RecordReport(index, "rejected", violations=_problems(exc))
        if prepared:
            by_key = {p.index: p for p in prepared}
            context = Graph()

            def screen(items: Sequence[BatchItem]) -> dict[int, tuple[str, list[dict[str, object]]]]:
                on_mpans = self._on_mpans(prepared)  # under the write lock, with the duplicate check
                for triple in self._context(on_mpans):
                    context.add(triple)  # read by the validation that follows
                return self._duplicates([by_key[i.key] for i in items], on_mpans)

            outcomes = commit_batch(self.r.write, "asset.create", principal, [p.item for p in prepared],
                                    screen=screen, context=context, request_id=request_id)
            for outcome in outcomes:
                identifier = self.r.iris.identifier(outcome.record)
                if outcome.accepted:
                    reports[outcome.key] = RecordReport(outcome.key, "created", identifier)
                elif outcome.refusal == "duplicate":
                    existing = str(outcome.problems[0].get("existingId"))
                    reports[outcome.key] = RecordReport(outcome.key, "duplicate", existing, outcome.problems)
                else:
                    reports[outcome.key] = RecordReport(outcome.key, "rejected", violations=outcome.problems)
        return [reports[index] for index, _, _ in rows]

    def _prepare(self, principal: Principal, index: int, body: dict[str, Any], now: Literal) -> _Prepared:
        assets = self.r.assets
        body, justification = assets.submission(principal, body)
        identifier = new_id()
        asset = self.r.iris.record("assets", identifier)
        triples = assets.read_triples(body, asset)
        triples += assets.derived(triples, asset)
        triples += [(asset, DCTERMS.identifier, Literal(identifier)), (asset, FMAR.status, PENDING),
                    (asset, FMAR.recordedAt, now)]
        given = {p: o for s, p, o in triples if s == asset}
        assets.category_open(given.get(FMAR.assetCategory))
        org, area = given.get(FMAR.operatedBy), given.get(FMAR.dno)
        if not isinstance(org, URIRef):
            raise Unprocessable("operatedBy is required: the FSP that operates the asset", pointer="/operatedBy")
        item = BatchItem(index, asset, self.r.iris.org_graph(org), triples, org,
                         area if isinstance(area, URIRef) else None, justification)
        return _Prepared(index, item, given.get(FMAR.serialNumber),
                         [o for s, p, o in triples if s == asset and p in MPAN_TERMS], given.get(FMAR.friendlyCode))

    def _on_mpans(self, prepared: Sequence[_Prepared]) -> list[dict[str, Node]]:
        mpans = {m for p in prepared for m in p.mpans}
        return self.r.store.select(_ON_MPANS % _values(mpans)) if mpans else []

    @staticmethod
    def _context(rows: list[dict[str, Node]]) -> Graph:
        """Assets already on the batch's MPANs (for the soft rule on MPANs used by another organisation)."""
        context = Graph()
        for row in rows:
            context.add((row["asset"], row["p"], row["mpan"]))
            context.add((row["asset"], FMAR.operatedBy, row["org"]))
            context.add((row["asset"], FMAR.status, row["status"]))
        return context

    def _duplicates(self, prepared: Sequence[_Prepared],
                    on_mpans: list[dict[str, Node]]) -> dict[int, tuple[str, list[dict[str, object]]]]:
        """Records already registered (same MPAN and serial; same friendly code in the organisation)."""
        found: dict[int, tuple[str, list[dict[str, object]]]] = {}
        registered = {(str(r["mpan"]), str(r["serial"])): str(r["id"]) for r in on_mpans
                      if "serial" in r and r["status"] != _DEREGISTERED}
        friendly: dict[tuple[str, str], str] = {}
        codes = {p.friendly for p in prepared if p.friendly is not None}
        if codes:
            for row in self.r.store.select(_FRIENDLY % _values(codes)):
                friendly[(str(row["org"]), str(row["code"]))] = str(row["id"])
        for p in prepared:
            mine = self.r.iris.identifier(p.item.record)
            keys = [(str(m), str(p.serial)) for m in p.mpans] if p.serial is not None else []
            clash = next((registered[k] for k in keys if k in registered), None)
            if clash is not None:
                found[p.index] = ("duplicate", [{"path": "importMPAN", "severity": "Violation", "existingId": clash,
                                                 "constraint": "fmar:unique",
                                                 "message": f"already registered as {clash} (same MPAN and serial number)"}])
                continue
            org_code = (str(p.item.target_org), str(p.friendly))
            if p.friendly is not None and org_code in friendly:
                found[p.index] = ("duplicate", [{"path": "friendlyCode", "severity": "Violation",
                                                 "existingId": friendly[org_code], "constraint": "fmar:unique",
                                                 "message": f"friendlyCode is already used by {friendly[org_code]}"}])
                continue
            for k in keys:
                registered[k] = mine  # later records of the same batch duplicate this one
            if p.friendly is not None:
                friendly[org_code] = mine
        return found


def _values(terms: Iterable[Node]) -> str:
    return " ".join(Literal(str(t)).n3() for t in sorted(terms, key=str))


def _problem(message: str) -> dict[str, Any]:
    return {"path": "", "value": None, "message": message, "constraint": "fmar:readable", "severity": "Violation"}


def _problems(exc: FmarError) -> list[dict[str, Any]]:
    errors = exc.extensions.get("errors")
    if isinstance(errors, list) and errors:
        return errors
    pointer = str(exc.extensions.get("pointer", "")).lstrip("/")
    return [{"path": pointer, "value": None, "message": exc.detail, "constraint": f"fmar:{exc.slug}",
             "severity": "Violation"}]

