"""Pages of what a query matches, in ID order, with the exact total.

The matching (ID, record) pairs are found by one query with no ORDER BY (Oxigraph compares strings by reading
each from its dictionary, which made a sorted page of 20,000 assets take seconds), sorted here, and kept until
the store's data changes: paging on through a result costs each page, not the whole result again.
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rdflib.term import Node

from fmar.ntriples import parts, term
from fmar.store import GraphStore


@dataclass(frozen=True)
class Page:
    """One page: its records' IRIs (N-Triples terms) in ID order, the exact total, and the next page's cursor."""

    records: list[str]
    total: int
    cursor: str | None


class Pager:
    """Sorted matches of recent queries, kept while the store's data is unchanged."""

    KEEP = 16

    def __init__(self, store: GraphStore) -> None:
        self.store = store
        self._kept: OrderedDict[tuple[object, ...], list[tuple[str, str]]] = OrderedDict()
        self._guard = threading.Lock()

    def page(self, query: str, *, limit: int, after: str | None, bindings: Mapping[str, Node] | None = None,
             default_graphs: Sequence[str] | None = None, named_graphs: Sequence[str] | None = None) -> Page:
        """The page after the ID ``after`` of what ``query`` (projecting ``?id`` and the record as ``?record``)
        matches on that dataset."""
        matches = self._matches(query, bindings or {}, default_graphs, named_graphs)
        start = bisect.bisect_right(matches, (after, "\uffff")) if after is not None else 0
        chosen = matches[start:start + limit]
        more = start + limit < len(matches)
        return Page([record for _, record in chosen], len(matches), chosen[-1][0] if more and chosen else None)

    def _matches(self, query: str, bindings: Mapping[str, Node], default_graphs: Sequence[str] | None,
                 named_graphs: Sequence[str] | None) -> list[tuple[str, str]]:
        key = (query, tuple(sorted((k, term(v)) for k, v in bindings.items())),
               None if default_graphs is None else tuple(default_graphs),
               None if named_graphs is None else tuple(named_graphs), self.store.version())
        with self._guard:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        answer = self.store.answer(query, default_graphs=default_graphs, named_graphs=named_graphs, bindings=bindings)
        try:
            at = {name: n for n, name in enumerate(answer.variables)}
            matches = sorted({(parts(row[at["id"]] or '""')[0], row[at["record"]] or "") for row in answer.rows})
        finally:
            answer.close()
        with self._guard:
            self._kept[key] = matches
            while len(self._kept) > self.KEEP:
                self._kept.popitem(last=False)
        return matches
