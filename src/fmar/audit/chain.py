"""The audit hash chain: every event carries its place (``fmar:sequence``), the hash of the event before
(``fmar:previousHash``) and its own hash (``fmar:eventHash``), which covers everything else the event says.

An event's hash is the SHA-256 of its canonical N-Triples: its triples but the hash itself, written as
Oxigraph writes them (so the chain can be checked from a dump of the audit graph), sorted and joined.
Events have no blank nodes, so sorted lines are a canonical form. The first event's previous hash is
:data:`GENESIS`; after an archive (``audit/archive.py``), the last archived event's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from fmar.iris import FMAR, Iris
from fmar.ntriples import quad_line
from fmar.store import GraphStore, Quad

GENESIS = "0" * 64
HASH = f"<{FMAR.eventHash}>"
SEQUENCE = f"<{FMAR.sequence}>"
PREVIOUS = f"<{FMAR.previousHash}>"


@dataclass(frozen=True)
class Head:
    """The newest event of the chain: its place, its hash, its IRI (None before the first event)."""

    sequence: int
    hash: str
    event: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"sequence": self.sequence, "hash": self.hash, "event": self.event}


def digest(lines: Iterable[str]) -> str:
    """The hash of an event from its N-Triples lines (the ``fmar:eventHash`` line left out)."""
    return hashlib.sha256("".join(sorted(lines)).encode()).hexdigest()


_HEAD = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?e ?n ?h WHERE { ?e fmar:sequence ?n ; fmar:eventHash ?h } ORDER BY DESC(?n) LIMIT 1"""
_ANCHOR = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?n ?h WHERE { ?a fmar:archivedThrough ?n ; fmar:archivedHash ?h } ORDER BY DESC(?n) LIMIT 1"""


def anchor(store: GraphStore, iris: Iris) -> Head:
    """Where the events in the store start from: the genesis, or the last event an archive took away."""
    rows = store.select(_ANCHOR, graphs=[iris.graph("audit")])
    return Head(int(str(rows[0]["n"])), str(rows[0]["h"])) if rows else Head(0, GENESIS)


class Chain:
    """Seals events onto the chain; the head is read from the store once, then kept (one writer: the
    write path, under the store's write lock)."""

    def __init__(self, store: GraphStore, iris: Iris) -> None:
        self.store, self.iris = store, iris
        self._head: Head | None = None
        self._sealed: Head | None = None

    @property
    def head(self) -> Head:
        if self._head is None:
            rows = self.store.select(_HEAD, graphs=[self.iris.graph("audit")])
            self._head = (Head(int(str(rows[0]["n"])), str(rows[0]["h"]), str(rows[0]["e"])) if rows
                          else anchor(self.store, self.iris))
        return self._head

    def seal(self, event: URIRef, quads: list[Quad]) -> list[Quad]:
        """The event's quads with its place, the previous hash and its own hash (:meth:`advance_to` the
        event once it is written: a write that fails leaves the head where it was)."""
        head = self.head
        graph = quads[0][3]
        sequence = head.sequence + 1
        quads = [*quads, (event, FMAR.sequence, Literal(str(sequence), datatype=XSD.integer), graph),
                 (event, FMAR.previousHash, Literal(head.hash), graph)]
        sealed = digest(quad_line(s, p, o) for s, p, o, _ in quads)
        self._sealed = Head(sequence, sealed, str(event))
        return [*quads, (event, FMAR.eventHash, Literal(sealed), graph)]

    def advance_to(self, event: URIRef) -> None:
        """The event sealed last is written: it is the head now."""
        if self._sealed is None or self._sealed.event != str(event):
            raise RuntimeError(f"{event} is not the event sealed last")
        self._head, self._sealed = self._sealed, None

    def forget(self) -> None:
        """Read the head from the store again (after an archive, or a failed write)."""
        self._head = None
