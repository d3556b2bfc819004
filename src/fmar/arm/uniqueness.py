"""An asset is registered once: the same MPAN and serial number (or the same friendly code in one organisation)
refuses a second registration. One value-first look-up serves a batch or one record: it finds the duplicates,
and the assets already on the same MPANs that the soft rule on MPANs used by another organisation reads.

A duplicate is named (its FMAR ID) only to a caller that may read it (its operator, an SO of its area, the
admin): anyone else learns only that the pair cannot be registered, not that it exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, URIRef
from rdflib.term import Node

from fmar.access.policy import Policy
from fmar.access.principal import Principal
from fmar.arm.submission import EXPORT, FRIENDLY, IMPORT, SERIAL
from fmar.errors import Duplicate
from fmar.graphs import new_graph
from fmar.iris import FMAR, Iris, code
from fmar.ntriples import term, to_node
from fmar.store import GraphStore
from fmar.validation.engine import index
from fmar.validation.shacl import Facts
from fmar.writepath import BatchItem

_PREFIXES = "PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>\n"
# Value first (an index look-up per value): the registered assets that hold one of the values as an MPAN or a
# friendly code. The values are N-Triples terms the registry wrote (a list: no substitution binds one).
_HOLDING = _PREFIXES + """SELECT ?asset ?p ?value ?serial ?id ?org ?status ?dno WHERE {
  VALUES ?value { %s }
  ?asset ?p ?value .
  FILTER (?p IN (fmar:importMPAN, fmar:exportMPAN, fmar:friendlyCode))
  ?asset fmar:operatedBy ?org ; fmar:status ?status ; dcterms:identifier ?id .
  OPTIONAL { ?asset fmar:serialNumber ?serial } OPTIONAL { ?asset fmar:dno ?dno } }"""
_DEREGISTERED = code("AssetStatus", "Deregistered")


def _other(holder: dict[str, Node], key: Keys) -> bool:
    """Whether a holder of a value is another record than ``key``'s."""
    return holder["asset"] != key.record


def duplicate_error(problem: dict[str, object]) -> Duplicate:
    """The 409 of a duplicate, naming the registered asset where the screening did."""
    named: dict[str, Any] = {k: problem[k] for k in ("existingId", "existing") if k in problem}
    return Duplicate(str(problem["message"]), **named)
_MPAN_TERMS = {IMPORT: "importMPAN", EXPORT: "exportMPAN"}

#: Record key → (refusal, problems): what a screening refuses.
Refusals = dict[int, tuple[str, list[dict[str, object]]]]


@dataclass(frozen=True)
class Keys:
    """What the screening looks at in one record (N-Triples terms): its serial number, its MPANs (predicate,
    value) and its friendly code, and whose it is."""

    record: URIRef
    org: URIRef | None
    serial: str | None
    mpans: tuple[tuple[str, str], ...]
    friendly: str | None

    @classmethod
    def of(cls, record: URIRef, org: URIRef | None, triples: Sequence[tuple[str, str, str]]) -> Keys:
        subject = f"<{record}>"
        own = [(p, o) for s, p, o in triples if s == subject]
        return cls(record, org, next((o for p, o in own if p == SERIAL), None),
                   tuple((p, o) for p, o in own if p in _MPAN_TERMS), next((o for p, o in own if p == FRIENDLY), None))


class Uniqueness:
    """Duplicate screening and the same-MPAN context, for batches and single records."""

    def __init__(self, store: GraphStore, iris: Iris, policy: Policy) -> None:
        self.store, self.iris, self.policy = store, iris, policy

    def holders(self, keys: Sequence[Keys], friendly: bool = True) -> list[dict[str, Node]]:
        """The registered assets holding one of the records' MPANs (or friendly codes): one look-up."""
        values = {m for k in keys for _, m in k.mpans} | ({k.friendly for k in keys if k.friendly} if friendly else set())
        return self.store.select(_HOLDING % " ".join(sorted(values))) if values else []

    def context(self, keys: Sequence[Keys], rows: list[dict[str, Node]] | None = None) -> Facts:
        """The other assets on the records' MPANs, for the soft rule on MPANs used by another organisation."""
        if rows is None:
            rows = self.holders(keys, friendly=False)
        mine = {k.record for k in keys}
        return index(triple for row in rows if row["p"] != FMAR.friendlyCode and row["asset"] not in mine
                     for triple in ((row["asset"], row["p"], row["value"]), (row["asset"], FMAR.operatedBy, row["org"]),
                                    (row["asset"], FMAR.status, row["status"])))

    def context_graph(self, keys: Keys) -> Graph:
        """:meth:`context` of one record, as a graph."""
        graph = new_graph()
        for subject, po in self.context([keys]).items():
            for p, objects in po.items():
                for o in objects:
                    graph.add((URIRef(subject[1:-1]), URIRef(p[1:-1]), to_node(o)))
        return graph

    def screen(self, principal: Principal, items: Sequence[BatchItem], keys: dict[int, Keys]) -> tuple[Refusals, Facts]:
        """Under the write lock: the records already registered, and the context as it is now (one look-up)."""
        batch_keys = [keys[item.key] for item in items]
        rows = self.holders(batch_keys)
        return self.duplicates(principal, batch_keys, [item.key for item in items], rows), self.context(batch_keys, rows)

    def require_unique(self, principal: Principal, keys: Keys) -> None:
        """One record (an update): 409 if another asset holds its MPAN and serial number, or its friendly code."""
        found = self.duplicates(principal, [keys], [0], self.holders([keys]))
        if found:
            raise duplicate_error(found[0][1][0])

    def duplicates(self, principal: Principal, keys: Sequence[Keys], refs: Sequence[int],
                   rows: list[dict[str, Node]]) -> Refusals:
        """Records already registered (same MPAN and serial; same friendly code in the organisation), later
        records of the same batch included; ``refs`` name the records in the answer."""
        found: Refusals = {}
        registered: dict[tuple[str, str], dict[str, Node]] = {}
        friendly: dict[tuple[str, str], dict[str, Node]] = {}
        for row in rows:
            if row["p"] == FMAR.friendlyCode:
                friendly[(str(row["org"]), term(row["value"]))] = row
            elif "serial" in row and row["status"] != _DEREGISTERED:
                registered[(term(row["value"]), term(row["serial"]))] = row
        for ref, key in zip(refs, keys, strict=True):
            pairs = [(predicate, (mpan, key.serial)) for predicate, mpan in key.mpans] if key.serial is not None else []
            clash = next(((p, pair) for p, pair in pairs if pair in registered and _other(registered[pair], key)), None)
            if clash is not None:
                found[ref] = ("duplicate", [self._problem(principal, _MPAN_TERMS[clash[0]], registered[clash[1]],
                                                          "an asset with this MPAN and serial number")])
                continue
            code_ = (str(key.org), key.friendly or "")
            if key.friendly is not None and code_ in friendly and _other(friendly[code_], key):
                found[ref] = ("duplicate", [self._problem(principal, "friendlyCode", friendly[code_],
                                                          "an asset of this organisation with this friendlyCode")])
                continue
            mine: dict[str, Node] = {"asset": key.record, **({"org": key.org} if key.org else {})}
            for _, pair in pairs:
                registered[pair] = mine  # later records of the same batch duplicate this one
            if key.friendly is not None:
                friendly[code_] = mine
        return found

    def _problem(self, principal: Principal, path: str, holder: dict[str, Node], what: str) -> dict[str, object]:
        """The refusal of a duplicate: naming the registered asset only to a caller that may read it."""
        problem: dict[str, object] = {"path": path, "severity": "Violation", "constraint": "fmar:unique"}
        org, area = holder.get("org"), holder.get("dno")
        if self.policy.allows(principal, "asset.read", URIRef(str(org)) if org else None,
                              URIRef(str(area)) if area else None):
            existing = self.iris.identifier(str(holder["asset"]))
            problem.update(message=f"{what} is already registered as {existing}", existingId=existing,
                           existing=str(holder["asset"]))
        else:
            problem["message"] = f"{what} is already registered; it cannot be registered again"
        return problem
