"""Bulk registration (the UC-02.02 bulk alternative): NDJSON or CSV in, one report line per record out.

Each record is all-or-nothing and a bad record never blocks the good ones: records are read,
checked and validated in batches, and each batch's accepted records are written together
through the write path's batch commit (one audit event per batch). Records travel as N-Triples
terms from the JSON to the bulk load: no rdflib term is made for a record that passes.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from rdflib import Literal
from rdflib.namespace import XSD
from rdflib.term import Node

from fmar.access.principal import Principal
from fmar.errors import FmarError, Unprocessable
from fmar.iris import FMAR, code
from fmar.jsonld import loads
from fmar.ntriples import literal, term
from fmar.validation.engine import index as index_facts
from fmar.validation.shacl import Facts
from fmar.writepath import Batch, BatchItem, commit_batch, prepare_batch

if TYPE_CHECKING:
    from fmar.registry import Registry

_PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>\n"
# One look-up per batch, value first (an index look-up per value): the registered assets that hold one
# of the batch's MPANs or friendly codes.
_HOLDING = _PREFIXES + """SELECT ?asset ?p ?value ?serial ?id ?org ?status WHERE {
  VALUES ?value { %s }
  ?asset ?p ?value .
  FILTER (?p IN (fmar:importMPAN, fmar:exportMPAN, fmar:friendlyCode))
  ?asset fmar:operatedBy ?org ; fmar:status ?status ; dcterms:identifier ?id .
  OPTIONAL { ?asset fmar:serialNumber ?serial } }"""
_DEREGISTERED = code("AssetStatus", "Deregistered")
_SERIAL_NUMBER, _FRIENDLY_CODE = term(FMAR.serialNumber), term(FMAR.friendlyCode)

_RESUME = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?id WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; fmar:requestId ?id } FILTER STRSTARTS(?id, ?prefix) }"""

#: Records per batch: large enough to spread each batch's fixed costs (one look-up, one staging store, one
#: bulk load), small enough to keep a batch's memory low and its report prompt (bench/README.md).
BATCH_SIZE = 2000

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
        if not line.strip():
            continue
        try:
            body = loads(line.decode("utf-8-sig" if index == 0 else "utf-8") if isinstance(line, bytes) else line)
        except UnicodeDecodeError as exc:
            yield index, None, f"line is not UTF-8 text (byte {exc.start})"
        except json.JSONDecodeError as exc:
            yield index, None, f"line is not JSON: {exc}"
        except ValueError as exc:
            yield index, None, str(exc)
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
    """Text lines of an uploaded CSV (UTF-8, with or without a byte-order mark); 422 if it is not UTF-8."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable(f"the CSV is not UTF-8 text (byte {exc.start}); nothing was registered") from exc
    return iter(io.StringIO(text, newline=""))


@dataclass
class _Keys:
    """What the duplicate screening looks at in one record (N-Triples terms)."""

    serial: str | None
    mpans: list[str]
    friendly: str | None


@dataclass
class _Prepared:
    """A batch read and checked ahead of the write lock."""

    reports: dict[int, RecordReport]
    batch: Batch
    keys: dict[int, _Keys]


class BulkImport:
    """Registers assets in batches through the write path's batch commit.

    Reading and the checks that need no lock run in a thread one batch ahead, so they overlap the
    store's bulk load of the batch before (which releases the GIL)."""

    def __init__(self, registry: Registry) -> None:
        self.r = registry

    def run(self, principal: Principal, rows: Iterable[Row], batch_size: int = BATCH_SIZE, request_id: str | None = None,
            tag: Callable[[int], str] | None = None) -> Iterator[RecordReport]:
        """Report lines in input order, a batch at a time (so a huge file needs little memory).

        ``tag`` names each batch's audit event from the index of its last record (resumable imports)."""
        self.r.policy.require_role(principal, "asset.create")
        with _fewer_collections():
            for rows_of_batch, prepared in ahead(_chunks(rows, batch_size), lambda b: self._prepare(principal, b)):
                yield from self._commit(rows_of_batch, prepared, tag(rows_of_batch[-1][0]) if tag else request_id)

    def resume_point(self, import_id: str) -> int:
        """The index of the last record an earlier run of this import committed (-1 if none)."""
        rows = self.r.store.select(_RESUME, bindings={"prefix": Literal(f"import:{import_id}:")})
        return max((int(str(r["id"]).rsplit(":", 1)[1]) for r in rows), default=-1)

    def _prepare(self, principal: Principal, rows: Sequence[Row]) -> _Prepared:
        recorded_at = literal(datetime.now(UTC).isoformat(timespec="seconds"), str(XSD.dateTime))
        view, public = self.r.assets.view, self.r.iris.graph("public")
        reports: dict[int, RecordReport] = {}
        items: list[BatchItem] = []
        keys: dict[int, _Keys] = {}
        for index, body, problem in rows:
            if body is None:
                reports[index] = RecordReport(index, "rejected", violations=[_problem(problem or "unreadable")])
                continue
            try:
                new = self.r.assets.new(principal, body, recorded_at)
            except FmarError as exc:
                reports[index] = RecordReport(index, "rejected", violations=_problems(exc))
                continue
            items.append(BatchItem(index, new.record, self.r.iris.asset_graph(new.org, new.area), new.triples,
                                   new.org, new.area, new.justification, view.shown, public,
                                   view.derived(new.triples, f"<{new.record}>")))
            keys[index] = _Keys(new.value(_SERIAL_NUMBER), new.mpans, new.value(_FRIENDLY_CODE))
        return _Prepared(reports, prepare_batch(self.r.write, "asset.create", principal, items,
                                                context=lambda allowed: self._context(allowed, keys)), keys)

    def _commit(self, rows: Sequence[Row], prepared: _Prepared, request_id: str | None) -> list[RecordReport]:
        reports = prepared.reports
        if prepared.batch.items:
            outcomes = commit_batch(self.r.write, prepared.batch, request_id=request_id,
                                    screen=lambda items: self._screen(items, prepared.keys))
            for outcome in outcomes:
                if outcome.accepted:
                    reports[outcome.key] = RecordReport(outcome.key, "created", self.r.iris.identifier(outcome.record))
                elif outcome.refusal == "duplicate":
                    existing = str(outcome.problems[0].get("existingId"))
                    reports[outcome.key] = RecordReport(outcome.key, "duplicate", existing, outcome.problems)
                else:
                    reports[outcome.key] = RecordReport(outcome.key, "rejected", violations=outcome.problems)
        return [reports[index] for index, _, _ in rows]

    def _holding(self, values: set[str]) -> list[dict[str, Node]]:
        return self.r.store.select(_HOLDING % " ".join(sorted(values))) if values else []

    def _context(self, items: Sequence[BatchItem], keys: dict[int, _Keys],
                 rows: list[dict[str, Node]] | None = None) -> Facts:
        """The assets already on the batch's MPANs, for the soft rule on MPANs used by another organisation."""
        if rows is None:
            rows = self._holding({m for item in items for m in keys[item.key].mpans})
        return index_facts(triple for row in rows if row["p"] != FMAR.friendlyCode for triple in (
            (row["asset"], row["p"], row["value"]), (row["asset"], FMAR.operatedBy, row["org"]),
            (row["asset"], FMAR.status, row["status"])))

    def _screen(self, items: Sequence[BatchItem],
                keys: dict[int, _Keys]) -> tuple[dict[int, tuple[str, list[dict[str, object]]]], Facts]:
        """Under the write lock: records already registered, and the context as it is now (one look-up)."""
        batch_keys = [keys[item.key] for item in items]
        rows = self._holding({m for k in batch_keys for m in k.mpans} | {k.friendly for k in batch_keys if k.friendly})
        return self._duplicates(items, keys, rows), self._context(items, keys, rows)

    def _duplicates(self, items: Sequence[BatchItem], keys: dict[int, _Keys],
                    rows: list[dict[str, Node]]) -> dict[int, tuple[str, list[dict[str, object]]]]:
        """Records already registered (same MPAN and serial; same friendly code in the organisation)."""
        found: dict[int, tuple[str, list[dict[str, object]]]] = {}
        registered: dict[tuple[str, str], str] = {}
        friendly: dict[tuple[str, str], str] = {}
        for row in rows:
            if row["p"] == FMAR.friendlyCode:
                friendly[(str(row["org"]), term(row["value"]))] = str(row["id"])
            elif "serial" in row and row["status"] != _DEREGISTERED:
                registered[(term(row["value"]), term(row["serial"]))] = str(row["id"])
        for item in items:
            key = keys[item.key]
            mine = self.r.iris.identifier(item.record)
            pairs = [(m, key.serial) for m in key.mpans] if key.serial is not None else []
            clash = next((registered[k] for k in pairs if k in registered), None)
            if clash is not None:
                found[item.key] = ("duplicate", [{"path": "importMPAN", "severity": "Violation", "existingId": clash,
                                                  "constraint": "fmar:unique",
                                                  "message": f"already registered as {clash} (same MPAN and serial number)"}])
                continue
            org_code = (str(item.target_org), key.friendly or "")
            if key.friendly is not None and org_code in friendly:
                found[item.key] = ("duplicate", [{"path": "friendlyCode", "severity": "Violation",
                                                  "existingId": friendly[org_code], "constraint": "fmar:unique",
                                                  "message": f"friendlyCode is already used by {friendly[org_code]}"}])
                continue
            for pair in pairs:
                registered[pair] = mine  # later records of the same batch duplicate this one
            if key.friendly is not None:
                friendly[org_code] = mine
        return found


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Space out the cyclic garbage collector while a bulk run allocates its millions of short-lived terms
    (none of them in cycles): with the default thresholds it took a tenth of the run (profiled)."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 200_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def _chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


T = TypeVar("T")
R = TypeVar("R")
_END = object()


def ahead(items: Iterable[T], work: Callable[[T], R]) -> Iterator[tuple[T, R]]:
    """``(item, work(item))`` in order, ``work`` running in a thread one item ahead of the consumer.

    Errors in the thread are raised to the consumer; if the consumer stops early, the thread stops too."""
    done: queue.Queue[object] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                done.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, work(item))):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, who raises it
            put(exc)
        else:
            put(_END)

    worker = threading.Thread(target=produce, name="fmar-bulk-prepare", daemon=True)
    worker.start()
    try:
        while True:
            value = done.get()
            if value is _END:
                return
            if isinstance(value, BaseException):
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def _problem(message: str) -> dict[str, Any]:
    return {"path": "", "value": None, "message": message, "constraint": "fmar:readable", "severity": "Violation"}


def _problems(exc: FmarError) -> list[dict[str, Any]]:
    errors = exc.extensions.get("errors")
    if isinstance(errors, list) and errors:
        return errors
    pointer = str(exc.extensions.get("pointer", "")).lstrip("/")
    return [{"path": pointer, "value": None, "message": exc.detail, "constraint": f"fmar:{exc.slug}",
             "severity": "Violation"}]

