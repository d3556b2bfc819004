"""Registering assets (UC-02.02), one or hundreds of thousands, the same way: each submission is read into a
new record, and the records go through the write path as a batch (a single registration is a batch of one):
the policy's decision for each, the uniqueness screening and validation, the verdict, one atomic write with
one audit event. Each record is all-or-nothing and a bad record never blocks the good ones.

For bulk runs, reading and the checks that need no lock run in a thread one batch ahead, so they overlap
the store's load of the batch before (which releases the GIL).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.bulk import BATCH_SIZE, RecordReport, Row, ahead, chunks, fewer_collections, problem, problems
from fmar.arm.public_view import PublicView
from fmar.arm.submission import AssetReader, NewAsset
from fmar.arm.uniqueness import Keys, Uniqueness, duplicate_error
from fmar.errors import FmarError, Forbidden
from fmar.iris import Iris
from fmar.ntriples import literal
from fmar.store import GraphStore
from fmar.writepath import Batch, BatchItem, Outcome, WritePath, verdict_error, warning_triples

_RESUME = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?prefix ?id WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; fmar:requestId ?id } FILTER STRSTARTS(?id, ?prefix) }"""
OPERATION = "asset.create"


@dataclass
class _Prepared:
    """A batch read and checked ahead of the write lock."""

    reports: dict[int, RecordReport]
    batch: Batch
    keys: dict[int, Keys]


class Registrations:
    """New assets, one or many, through the write path's batch commit."""

    def __init__(self, store: GraphStore, iris: Iris, policy: Policy, write: WritePath, reader: AssetReader,
                 uniqueness: Uniqueness, view: PublicView) -> None:
        self.store, self.iris, self.policy, self.write = store, iris, policy, write
        self.reader, self.uniqueness, self.view = reader, uniqueness, view
        self._public = iris.graph("public")

    def register(self, principal: Principal, body: dict[str, Any], request_id: str | None = None) -> tuple[URIRef, Graph]:
        """One asset, validated in full; on success it is PendingValidation with a new FMAR Asset ID. Refused
        with 404/403 (policy), 409 (already registered) or 422 (validation)."""
        self.policy.require_role(principal, OPERATION)
        with self.write.lock:  # one registration at a time: under the GIL, concurrent ones only contend
            new = self.reader.new(principal, body)
            self.policy.require(principal, OPERATION, new.org, "asset.read", new.area)
            item, keys = self._item(0, new)
            batch = self.write.prepare(OPERATION, principal, [item], ahead=False)
            [outcome] = self.write.commit_batch(batch, request_id=request_id,
                                                screen=lambda items: self.uniqueness.screen(principal, items, {0: keys}))
        if not outcome.accepted:
            raise _refusal(outcome)
        graph = new.graph()
        for triple in warning_triples(new.record, outcome.warnings):  # accepted warnings are kept with the record
            graph.add(triple)
        return new.record, graph

    def run(self, principal: Principal, rows: Iterable[Row], batch_size: int = BATCH_SIZE, request_id: str | None = None,
            tag: Callable[[int], str] | None = None) -> Iterator[RecordReport]:
        """Report lines in input order, a batch at a time as each batch commits (so a huge file needs little
        memory). ``tag`` names each batch's audit event from the index of its last record (resumable imports)."""
        for reports in self.batches(principal, rows, batch_size, request_id, tag):
            yield from reports

    def batches(self, principal: Principal, rows: Iterable[Row], batch_size: int = BATCH_SIZE,
                request_id: str | None = None, tag: Callable[[int], str] | None = None) -> Iterator[list[RecordReport]]:
        """:meth:`run`, a batch's report lines at a time, each as soon as its batch is stored; stop reading and
        no further batch is stored."""
        self.policy.require_role(principal, OPERATION)
        with fewer_collections():
            for rows_of_batch, prepared in ahead(chunks(rows, batch_size), lambda b: self._prepare(principal, b)):
                yield self._commit(principal, rows_of_batch, prepared, tag(rows_of_batch[-1][0]) if tag else request_id)

    def resume_point(self, import_id: str) -> int:
        """The index of the last record an earlier run of this import committed (-1 if none)."""
        rows = self.store.select(_RESUME, bindings={"prefix": Literal(f"import:{import_id}:")})
        return max((int(str(r["id"]).rsplit(":", 1)[1]) for r in rows), default=-1)

    def _item(self, key: int, new: NewAsset) -> tuple[BatchItem, Keys]:
        item = BatchItem(key, new.record, self.iris.asset_graph(new.org, new.area), new.triples, new.org, new.area,
                         new.justification, self.view.shown, self._public,
                         self.view.derived(new.triples, f"<{new.record}>"))
        return item, Keys.of(new.record, new.org, new.triples)

    def _prepare(self, principal: Principal, rows: Sequence[Row]) -> _Prepared:
        recorded_at = literal(datetime.now(UTC).isoformat(timespec="seconds"), str(XSD.dateTime))
        reports: dict[int, RecordReport] = {}
        items: list[BatchItem] = []
        keys: dict[int, Keys] = {}
        for index, body, unreadable in rows:
            if body is None:
                reports[index] = RecordReport(index, "rejected", violations=[problem(unreadable or "unreadable")])
                continue
            try:
                item, keys[index] = self._item(index, self.reader.new(principal, body, recorded_at))
            except FmarError as exc:
                reports[index] = RecordReport(index, "rejected", violations=problems(exc))
                continue
            items.append(item)
        batch = self.write.prepare(OPERATION, principal, items,
                                   context=lambda allowed: self.uniqueness.context([keys[i.key] for i in allowed]))
        return _Prepared(reports, batch, keys)

    def _commit(self, principal: Principal, rows: Sequence[Row], prepared: _Prepared,
                request_id: str | None) -> list[RecordReport]:
        reports = prepared.reports
        if prepared.batch.items:
            outcomes = self.write.commit_batch(prepared.batch, request_id=request_id,
                                               screen=lambda items: self.uniqueness.screen(principal, items, prepared.keys))
            for outcome in outcomes:
                if outcome.accepted:
                    reports[outcome.key] = RecordReport(outcome.key, "created", self.iris.identifier(outcome.record))
                elif outcome.refusal == "duplicate":
                    existing = outcome.problems[0].get("existingId")
                    reports[outcome.key] = RecordReport(outcome.key, "duplicate", str(existing) if existing else None,
                                                        outcome.problems)
                else:
                    reports[outcome.key] = RecordReport(outcome.key, "rejected", violations=outcome.problems)
        return [reports[index] for index, _, _ in rows]


def _refusal(outcome: Outcome) -> FmarError:
    """The error of a single registration's refused outcome."""
    if outcome.refusal == "duplicate":
        return duplicate_error(outcome.problems[0])
    if outcome.refusal == "forbidden":
        return Forbidden(str(outcome.problems[0]["message"]))
    return verdict_error(outcome.problems)
