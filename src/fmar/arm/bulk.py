"""Bulk input and output (the UC-02.02 bulk alternative): NDJSON or CSV in, one report line per record out,
and the machinery that reads one batch ahead of the one being written (:mod:`fmar.arm.registration` runs it).
"""

from __future__ import annotations

import csv
import gc
import io
import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fmar.errors import FmarError, Unprocessable
from fmar.jsonld import loads

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


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Space out the cyclic garbage collector while a bulk run allocates its millions of short-lived terms
    (none of them in cycles): with the default thresholds it took a tenth of the run (profiled)."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 200_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


def chunks(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
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


def problem(message: str) -> dict[str, Any]:
    return {"path": "", "value": None, "message": message, "constraint": "fmar:readable", "severity": "Violation"}


def problems(exc: FmarError) -> list[dict[str, Any]]:
    errors = exc.extensions.get("errors")
    if isinstance(errors, list) and errors:
        return errors
    pointer = str(exc.extensions.get("pointer", "")).lstrip("/")
    return [{"path": pointer, "value": None, "message": exc.detail, "constraint": f"fmar:{exc.slug}",
             "severity": "Violation"}]

