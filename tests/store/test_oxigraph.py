"""The embedded store's core: one atomic write of N-Quads, values bound by substitution, its version, and
isolated queries (in memory: stopped between rows)."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from fmar.store import QueryStopped, open_store

G, J = "http://example.org/graph/data", "http://example.org/graph/journal"


def _line(s: str, o: str, graph: str = G) -> str:
    return f"<http://example.org/{s}> <http://example.org/p> \"{o}\" <{graph}> .\n"


def test_a_write_removes_and_adds_at_once_and_changes_the_version() -> None:
    store = open_store(None, journal=J)
    store.write("", _line("a", "1") + _line("b", "2"))
    version = store.version()
    store.write(_line("a", "1"), _line("a", "3"))
    assert store.version() != version
    rows = store.select("SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o }")
    assert sorted((str(r["s"]), str(r["o"])) for r in rows) == [("http://example.org/a", "3"), ("http://example.org/b", "2")]
    with pytest.raises(SyntaxError):  # a broken write changes nothing: its removal is not made either
        store.write(_line("b", "2"), '<http://example.org/c> <http://example.org/p> "unterminated <http://g> .\n')
    assert len(store.select("SELECT ?s WHERE { ?s ?p ?o }")) == 2


def test_appending_to_the_journal_leaves_the_version_as_it_was() -> None:
    store = open_store(None, journal=J)
    store.write("", _line("a", "1"))
    version = store.version()
    store.write("", _line("event", "read", J))
    assert store.version() == version
    store.write("", _line("event", "read", J) + _line("c", "4"))
    assert store.version() != version


def test_values_are_bound_by_substitution_into_projected_variables() -> None:
    store = open_store(None)
    store.write("", _line("a", "1") + _line("b", "2"))
    query = "SELECT ?s ?o WHERE { ?s <http://example.org/p> ?o }"
    [row] = store.select(query, bindings={"o": Literal("2")})
    assert row["s"] == URIRef("http://example.org/b")
    assert store.ask("ASK { ?s <http://example.org/p> ?o }", bindings={"s": URIRef("http://example.org/a")})
    with pytest.raises(ValueError, match="projection"):
        store.select("SELECT ?s WHERE { ?s <http://example.org/p> ?o }", bindings={"o": Literal("2")})


def test_an_isolated_query_in_memory_stops_between_rows_past_its_time() -> None:
    store = open_store(None)
    store.write("", "".join(_line(f"s{n}", str(n)) for n in range(200)))
    product = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }"
    answer = store.isolated_answer("ASK { ?s ?p ?o }", default_graphs=None, named_graphs=None, base_iri=None,
                                   timeout=5, row_cap=10)
    assert answer.form == "boolean" and answer.boolean
    capped = store.isolated_answer(product, default_graphs=None, named_graphs=None, base_iri=None, timeout=5,
                                   row_cap=10)
    assert len(list(capped.rows)) == 11  # the cap and one more: the caller says it is too many
    with pytest.raises(QueryStopped):
        store.isolated_answer(product, default_graphs=None, named_graphs=None, base_iri=None, timeout=0.0001,
                              row_cap=10**9)
