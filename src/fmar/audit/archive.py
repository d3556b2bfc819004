"""Retention: the oldest events move out of the store into a signed N-Quads file, and the chain still verifies.

An archive takes a prefix of the chain (every event recorded before a time), writes it to
``{data}/audit-archive/events-{first}-{last}.nq`` with a detached signature beside it (``.jws``: an ES256
JWT, by the registry's key, over the file's SHA-256, its first and last events and the last hash), and in
one write removes those events and appends an ``audit.archive`` event naming the file, its digest and the
last archived event (``fmar:archivedThrough``, ``fmar:archivedHash``): the chain left in the store starts
after it. :func:`verify_archive` checks a file on its own: signature, digest, and its chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jwt
from rdflib import Literal, URIRef
from rdflib.namespace import XSD

from fmar.access.principal import Principal
from fmar.access.tokens import ALGORITHM, TokenService
from fmar.audit.chain import GENESIS, Head, anchor
from fmar.audit.events import EventInfo, xsd_literal
from fmar.audit.verify import AuditStore, Verification, check, events_in, verify
from fmar.errors import Conflict
from fmar.iris import FMAR, Iris
from fmar.ntriples import quad_line
from fmar.store import Dumpable

_BEFORE = """PREFIX fmar: <https://w3id.org/fmar#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?e ?n ?h ?before WHERE { ?e fmar:sequence ?n ; fmar:eventHash ?h ; prov:startedAtTime ?t FILTER(?t < ?before) }
ORDER BY ?n"""
_QUADS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?e ?p ?o ?last WHERE { ?e fmar:sequence ?n FILTER(?n <= ?last) ?e ?p ?o }"""


@dataclass(frozen=True)
class Archived:
    """What an archive wrote: the file, its events, and the event that records it."""

    path: Path
    first: int
    last: Head
    events: int
    event: URIRef


class Remover(Protocol):
    """What an archive needs of the write path (:class:`fmar.writepath.WritePath`): its lock, the registry's IRIs,
    and the one write that takes events out of the store."""

    @property
    def iris(self) -> Iris: ...

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    def remove_events(self, info: EventInfo, removed: Sequence[str]) -> URIRef: ...


def archive(write: Remover, store: AuditStore, tokens: TokenService, principal: Principal, before: datetime,
            directory: Path) -> Archived | None:
    """Move the events recorded before ``before`` to a signed file in ``directory``; None when there are none.
    Refused (409) when the chain does not verify: a broken chain is not archived. The operator's command
    (``fmar audit archive``), not an API operation: no request can remove events."""
    audit = write.iris.graph("audit")
    with write.lock:
        checked = verify(store, write.iris)
        if not checked.intact:
            raise Conflict(f"the audit chain does not verify ({checked.finding.message if checked.finding else ''}); "
                           "nothing was archived")
        when = xsd_literal(before)
        rows = store.select(_BEFORE, bindings={"before": when}, graphs=[audit])
        start = anchor(store, write.iris)
        prefix = [r for n, r in enumerate(rows) if int(str(r["n"])) == start.sequence + 1 + n]
        if not prefix:
            return None
        events = [URIRef(str(r["e"])) for r in prefix]
        first, last = int(str(prefix[0]["n"])), Head(int(str(prefix[-1]["n"])), str(prefix[-1]["h"]), str(events[-1]))
        quads = [quad_line(row["e"], row["p"], row["o"], audit) for row in store.select(
            _QUADS, bindings={"last": Literal(str(last.sequence), datatype=XSD.integer)}, graphs=[audit])]
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"events-{first:012d}-{last.sequence:012d}.nq"
        text = _lines_of(store, write.iris.graph("audit"), {f"<{e}> ".encode() for e in events},
                         f" <{audit}> .\n".encode())
        path.write_bytes(text)
        digest = hashlib.sha256(text).hexdigest()
        claims = {"iss": tokens.settings.token_issuer, "iat": int(datetime.now(UTC).timestamp()), "file": path.name,
                  "sha256": digest, "first": first, "last": last.sequence, "lastHash": last.hash,
                  "previousHash": start.hash, "events": len(events)}
        path.with_suffix(".nq.jws").write_text(jwt.encode(claims, tokens.key, algorithm=ALGORITHM,
                                                          headers={"kid": tokens.kid}) + "\n")
        facts = ((FMAR.archivedThrough, Literal(str(last.sequence), datatype=XSD.integer)),
                 (FMAR.archivedHash, Literal(last.hash)), (FMAR.archiveFile, Literal(path.name)),
                 (FMAR.archivedBefore, when))
        info = EventInfo("audit.archive", principal, [], f"events {first}–{last.sequence} recorded before "
                         f"{when} archived to {path.name}", digest=digest, facts=facts)
        event = write.remove_events(info, quads)
    return Archived(path, first, last, len(events), event)


def _lines_of(store: Dumpable, audit: URIRef, subjects: set[bytes], graph: bytes) -> bytes:
    """The events' lines as the store keeps them (canonical: what their hashes cover), as sorted N-Quads; the
    dump is filtered as it streams, so only the archived events are held."""
    kept: list[bytes] = []
    rest = b""

    def sink(chunk: bytes) -> None:
        nonlocal rest
        lines = (rest + chunk).split(b"\n")
        rest = lines.pop()
        kept.extend(line[:-2] + graph for line in lines if line[:line.find(b" ") + 1] in subjects)
    store.dump_graph(str(audit), sink)
    sink(b"\n")
    return b"".join(sorted(kept))


def verify_archive(path: Path, tokens: TokenService) -> tuple[dict[str, Any], Verification]:
    """An archive file checked on its own: the signature beside it (ValueError if missing or invalid), its
    digest, and its chain from the hash before its first event."""
    text = path.read_bytes()
    try:
        claims: dict[str, Any] = jwt.decode(path.with_suffix(".nq.jws").read_text().strip(),
                                            tokens.key.public_key(), algorithms=[ALGORITHM],
                                            options={"require": ["sha256", "first", "last", "lastHash"]})
    except (OSError, jwt.PyJWTError) as exc:
        raise ValueError(f"the signature of {path.name} does not verify: {exc}") from exc
    if claims["sha256"] != hashlib.sha256(text).hexdigest() or claims["file"] != path.name:
        raise ValueError(f"{path.name} is not the file that was signed (its SHA-256 differs)")
    events = events_in(text)
    start = Head(int(claims["first"]) - 1, str(claims.get("previousHash", GENESIS)))
    return claims, check(events, start, Head(int(claims["last"]), str(claims["lastHash"])))
