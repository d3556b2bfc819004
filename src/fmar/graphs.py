"""rdflib graphs for records: triples only, so the lighter SimpleMemory store (half the cost to fill)."""

from __future__ import annotations

from rdflib import Graph


def new_graph() -> Graph:
    """An empty in-memory graph for a record, its context or a query result."""
    return Graph(store="SimpleMemory")
