"""Checking the audit chain: every event's hash recomputed from a dump of the audit graph, every link
followed, and the first event that was altered, removed or inserted named.

The audit graph is read as Oxigraph dumps it (a stream of N-Triples, each event's lines together), so a
check needs no rdflib terms and little memory beyond one small record per event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from fmar.audit.chain import HASH, PREVIOUS, SEQUENCE, Head, anchor
from fmar.iris import Iris
from fmar.store import Dumpable, GraphStore


@dataclass(frozen=True)
class Finding:
    """The first break in the chain: ``altered`` (an event's content no longer matches its hash),
    ``removed`` (events missing), ``inserted`` (an event that is not chained where it stands), or
    ``truncated`` (the chain ends before a head exported earlier)."""

    kind: str
    sequence: int | None
    event: str | None
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "sequence": self.sequence, "event": self.event, "message": self.message}


@dataclass
class Verification:
    """What a check found: how many events, from where (genesis or the last archive), to which head."""

    events: int
    start: Head
    head: Head | None
    finding: Finding | None = None

    @property
    def intact(self) -> bool:
        return self.finding is None

    def as_dict(self) -> dict[str, object]:
        return {"intact": self.intact, "events": self.events, "start": self.start.as_dict(),
                "head": self.head.as_dict() if self.head else None,
                "firstProblem": self.finding.as_dict() if self.finding else None}


@dataclass(slots=True)
class _Event:
    subject: str
    sequence: int | None
    previous: bytes | None
    stored: bytes | None
    computed: bytes


@dataclass
class _Reader:
    """The sink of a dump: splits the stream into lines, and each subject's run of lines into one event.

    An on-disk store dumps a graph subject by subject; a subject seen again later (the in-memory store
    keeps no such order) is noted in ``split``, and its lines gathered by a second reading (``gather``)."""

    events: dict[bytes, _Event] = field(default_factory=dict)
    split: set[bytes] = field(default_factory=set)
    gather: set[bytes] | None = None
    _gathered: dict[bytes, list[bytes]] = field(default_factory=dict)
    _rest: bytes = b""
    _subject: bytes = b"\0"  # a prefix of no line
    _lines: list[bytes] = field(default_factory=list)

    def write(self, chunk: bytes) -> None:
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()
        for line in lines:
            if not line.startswith(self._subject):
                self._close()
                self._subject = line[:line.index(b" ") + 1]
            self._lines.append(line)

    def finish(self) -> dict[bytes, _Event]:
        if self._rest:
            self.write(b"\n")
        self._close()
        for subject, lines in self._gathered.items():
            self.events[subject] = _event(subject, lines)
        return self.events

    def _close(self) -> None:
        if not self._lines:
            return
        subject, lines = self._subject, self._lines
        self._lines = []
        if self.gather is not None:
            if subject in self.gather:
                self._gathered.setdefault(subject, []).extend(lines)
        elif subject in self.events:
            self.split.add(subject)
        else:
            self.events[subject] = _event(subject, lines)


def _event(subject: bytes, lines: list[bytes]) -> _Event:
    """One event from its lines: its place, its links, and its hash as stored and as recomputed."""
    sequence = previous = stored = None
    kept = []
    hash_at, seq_at, prev_at = subject + _HASH, subject + _SEQUENCE, subject + _PREVIOUS
    for line in lines:
        if line.startswith(hash_at):
            stored = _value(line)
            continue
        if line.startswith(seq_at):
            sequence = int(_value(line))
        elif line.startswith(prev_at):
            previous = _value(line)
        kept.append(line + b"\n")
    kept.sort()
    computed = hashlib.sha256(b"".join(kept)).hexdigest().encode()
    return _Event(subject[1:-2].decode(), sequence, previous, stored, computed)


_HASH, _SEQUENCE, _PREVIOUS = (f"{t} ".encode() for t in (HASH, SEQUENCE, PREVIOUS))


def _value(line: bytes) -> bytes:
    return line.split(b'"', 2)[1]


class AuditStore(GraphStore, Dumpable, Protocol):
    """What checking the chain needs of the store: the core, and the audit graph streamed out."""


def verify(store: AuditStore, iris: Iris, expected: Head | None = None) -> Verification:
    """Recompute the chain in the store's audit graph; ``expected``: a head exported earlier, which the
    chain must still contain (this is what shows events removed from its end)."""
    graph = str(iris.graph("audit"))
    reader = _Reader()
    store.dump_graph(graph, reader.write)
    events = reader.finish()
    if reader.split:
        again = _Reader(gather=reader.split)
        store.dump_graph(graph, again.write)
        events.update(again.finish())
    return check(list(events.values()), anchor(store, iris), expected)


def events_in(nquads: bytes) -> list[_Event]:
    """The events of an N-Quads text in which every line names its graph (an archive file)."""
    reader = _Reader()
    reader.write(b"".join(line.rsplit(b" ", 2)[0] + b" .\n" for line in nquads.splitlines() if line))
    return list(reader.finish().values())


def check(events: list[_Event], start: Head, expected: Head | None = None) -> Verification:
    """The first break in a chain of events read from the audit graph, starting after ``start``."""
    chained: list[_Event] = []
    unchained: list[_Event] = []
    for e in events:
        (unchained if e.sequence is None or e.stored is None or e.previous is None else chained).append(e)
    chained.sort(key=lambda e: e.sequence or 0)
    result = Verification(len(events), start, None)
    want_sequence, want_previous = start.sequence + 1, start.hash.encode()
    hashes: dict[int, bytes] = {}
    for n, event in enumerate(chained):
        sequence = event.sequence or 0
        result.finding = _break(event, sequence, want_sequence, want_previous, chained[n + 1:n + 2])
        if result.finding is not None:
            return result
        hashes[sequence] = event.stored or b""
        want_sequence, want_previous = sequence + 1, event.stored or b""
        result.head = Head(sequence, (event.stored or b"").decode(), event.subject)
    if unchained:
        first = min(unchained, key=lambda e: e.subject)
        result.finding = Finding("inserted", None, first.subject,
                                 f"{len(unchained)} event(s) in the audit graph are not on the chain (no sequence or hash)")
    elif expected is not None:
        result.finding = _against(expected, hashes, result.head)
    return result


def _break(event: _Event, sequence: int, want_sequence: int, want_previous: bytes,
           after: list[_Event]) -> Finding | None:
    if sequence < want_sequence or (after and after[0].sequence == sequence):
        twin = after[0].subject if after and after[0].sequence == sequence else None
        intruder = event.subject if twin is None or event.previous != want_previous or event.stored != event.computed else twin
        return Finding("inserted", sequence, intruder, f"event {sequence} appears more than once, or is before the "
                                                       "start of the chain: this one was not chained there")
    if sequence > want_sequence:
        missing = f"{want_sequence}" if sequence == want_sequence + 1 else f"{want_sequence}–{sequence - 1}"
        return Finding("removed", want_sequence, event.subject,
                       f"event(s) {missing} are missing: removed before {event.subject}")
    if event.stored != event.computed:
        return Finding("altered", sequence, event.subject,
                       f"event {sequence} was altered: its content no longer matches its hash")
    if event.previous != want_previous:
        return Finding("inserted", sequence, event.subject,
                       f"event {sequence} is not chained to event {sequence - 1} (an event put in its place, "
                       "or the one before it rewritten)")
    return None


def _against(expected: Head, hashes: dict[int, bytes], head: Head | None) -> Finding | None:
    """A head exported earlier must still be on the chain, with the same hash."""
    if head is None or expected.sequence > head.sequence:
        return Finding("truncated", expected.sequence, expected.event,
                       f"the chain ends at event {head.sequence if head else 0}, before the head exported at "
                       f"event {expected.sequence}: events were removed from its end")
    if expected.sequence in hashes and hashes[expected.sequence] != expected.hash.encode():
        return Finding("altered", expected.sequence, expected.event,
                       f"event {expected.sequence} has another hash than the head exported then: the chain was "
                       "rewritten up to there")
    return None
