"""The audit trail as a service (UC-05.06): events found by record, actor and time, and the chain checked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdflib import Literal, URIRef
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.audit.chain import Head, anchor
from fmar.audit.events import xsd_literal
from fmar.audit.history import EVENTS, History, parse_time, who_and_why
from fmar.audit.verify import AuditStore, Verification, verify
from fmar.errors import BadRequest
from fmar.iris import Iris
from fmar.store import Row, projected

_COUNTS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?e (COUNT(?r) AS ?count) WHERE { VALUES ?e fmar:record ?r } GROUP BY ?e"""
_LISTED = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?e ?r WHERE { VALUES ?e fmar:record ?r } ORDER BY ?r"""
#: An event naming more records than this (a bulk batch) gives only their count, not the records.
LISTED_RECORDS = 100


@dataclass(frozen=True)
class EventFilter:
    """What ``GET /audit`` asks for: a record, an actor (user, organisation or token subject), an operation,
    a time range (``from`` inclusive, ``to`` exclusive), and the page (after a sequence number)."""

    record: str | None = None
    actor: str | None = None
    operation: str | None = None
    start: str | None = None
    end: str | None = None
    after: int = 0
    limit: int = 100


class AuditTrail:
    """Reading the audit graph: events under the policy table, and the chain's check and head."""

    def __init__(self, store: AuditStore, policy: Policy, iris: Iris, chain_head: Callable[[], Head],
                 history: History) -> None:
        """``chain_head``: the head of the chain between writes (the write path's)."""
        self.store, self.policy, self.iris, self.chain_head, self.history = store, policy, iris, chain_head, history
        self.graph = iris.graph("audit")

    def verify(self, principal: Principal, expected: Head | None = None) -> Verification:
        self.policy.require_role(principal, "audit.verify")
        return verify(self.store, self.iris, expected)

    def head(self, principal: Principal) -> Head:
        self.policy.require_role(principal, "audit.verify")
        return self.chain_head()

    def events(self, principal: Principal, query: EventFilter) -> tuple[list[dict[str, Any]], int | None]:
        """A page of events the caller may read, in chain order, and the cursor of the next page.

        A record's events are found from the record; otherwise the chain is read a window of sequence numbers
        at a time (growing while the filters match little), so a page costs the events it looks at, not the
        whole trail."""
        visible = self.policy.search_filter(principal, "audit.read", made=("?org", "?behalf"))
        filters, bindings = [], dict[str, Node]()
        if query.operation:
            filters.append("FILTER(?op = ?wantedOperation)")
            bindings["wantedOperation"] = Literal(query.operation)
        for bound, op, name in ((query.start, ">=", "start"), (query.end, "<", "end")):
            if bound:
                filters.append(f"FILTER(?t {op} ?{name})")
                bindings[name] = xsd_literal(parse_time(bound))
        if query.actor:
            filters.append("FILTER(?user = ?actor || ?org = ?actor || ?behalf = ?actor || ?subject = ?actorSubject)")
            bindings.update(actor=self._actor(query.actor), actorSubject=Literal(query.actor))
        if query.record:
            collection, record = self._record(query.record)
            _, versions = self.history.versions(principal, collection, str(record))
            filters += [f"VALUES ?e {{ {' '.join(f'<{v.event}>' for v in versions)} }}", "FILTER(?n > ?after)"]
            bindings["after"] = Literal(query.after)
            rows = self._select(filters, bindings, query.limit + 1)
        else:
            if visible is None:
                return [], None
            rows = self._scan([*filters, visible], bindings, query.after, query.limit + 1)
        page = rows[:query.limit]
        records = self._records([str(r["e"]) for r in page])
        items = [_event_document({k: str(v) for k, v in row.items()}, *records.get(str(row["e"]), (0, [])))
                 for row in page]
        cursor = int(str(page[-1]["n"])) if len(rows) > query.limit else None
        return items, cursor

    def _select(self, filters: list[str], bindings: dict[str, Node], limit: int) -> list[Row]:
        text = EVENTS.replace("PATTERN", "\n  ".join(filters)).replace("BOUND", projected(bindings)) \
            + f" LIMIT {limit}"
        return self.store.select(text, bindings=bindings, graphs=[self.graph])

    def _scan(self, filters: list[str], bindings: dict[str, Node], after: int, wanted: int) -> list[Row]:
        """Up to ``wanted`` matching events after sequence ``after``, reading windows of the chain."""
        low, head = max(after, anchor(self.store, self.iris).sequence), self.chain_head().sequence
        window, rows = max(wanted, 256), list[Row]()
        while len(rows) < wanted and low < head:
            high = min(low + window, head)
            values = "VALUES ?n { " + " ".join(str(n) for n in range(low + 1, high + 1)) + " }"
            rows += self._select([values, *filters], bindings, wanted - len(rows))
            low, window = high, min(window * 2, 65_536)
        return rows

    def _records(self, events: list[str]) -> dict[str, tuple[int, list[str]]]:
        """Each event's record count, and its records when there are few (a bulk batch lists only its count)."""
        if not events:
            return {}
        values = "VALUES ?e { " + " ".join(f"<{e}>" for e in events) + " }"
        counts = {str(r["e"]): int(str(r["count"])) for r in self.store.select(
            _COUNTS.replace("VALUES", values), graphs=[self.graph])}
        found: dict[str, tuple[int, list[str]]] = {e: (n, []) for e, n in counts.items()}
        small = [e for e, n in counts.items() if n <= LISTED_RECORDS]
        if small:
            values = "VALUES ?e { " + " ".join(f"<{e}>" for e in small) + " }"
            for row in self.store.select(_LISTED.replace("VALUES", values), graphs=[self.graph]):
                found[str(row["e"])][1].append(str(row["r"]))
        return found

    def _actor(self, value: str) -> URIRef:
        for collection in ("users", "organisations"):
            iri = self.iris.parse(value, collection)
            if iri is not None:
                return iri
        return URIRef(value) if value.startswith(self.iris.base) else URIRef("urn:fmar:nobody")

    def _record(self, value: str) -> tuple[str, URIRef]:
        for collection in self.history.kinds:
            if value.startswith(f"{self.iris.base}{collection}/"):
                record = self.iris.parse(value, collection)
                if record is not None:
                    return collection, record
        raise BadRequest(f"record must be the IRI of a record ({', '.join(self.history.kinds)}): {value!r}")


def _event_document(facts: dict[str, str], count: int, listed: list[str]) -> dict[str, Any]:
    return {"id": facts["e"], "sequence": int(facts["n"]), "recordedAt": facts["t"], "operation": facts["op"],
            **who_and_why(facts), "records": listed, "recordCount": count, "eventHash": facts["hash"]}
