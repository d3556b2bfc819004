"""The pager: what a query matches, in ID order, a page at a time, kept while the store's data is unchanged."""

from __future__ import annotations

from fmar.paging import Pager
from fmar.store import open_store

G = "http://example.org/graph/data"
QUERY = "SELECT ?record ?id WHERE { ?record <http://example.org/id> ?id }"


def _records(count: int, start: int = 0) -> str:
    return "".join(f"<http://example.org/r{n}> <http://example.org/id> \"{n:04d}\" <{G}> .\n"
                   for n in range(start, start + count))


def test_pages_follow_the_ids_with_the_exact_total_and_a_cursor() -> None:
    store = open_store(None)
    store.write("", _records(25))
    pager = Pager(store)
    first = pager.page(QUERY, limit=10, after=None)
    assert first.total == 25 and first.cursor == "0009" and first.records[0] == "<http://example.org/r0>"
    second = pager.page(QUERY, limit=10, after=first.cursor)
    assert second.records[0] == "<http://example.org/r10>" and second.cursor == "0019"
    last = pager.page(QUERY, limit=10, after=second.cursor)
    assert len(last.records) == 5 and last.cursor is None


def test_what_matched_is_kept_until_the_data_changes() -> None:
    store = open_store(None)
    store.write("", _records(5))
    pager = Pager(store)
    asked: list[str] = []
    answer = store.answer

    def counted(query: str, **kwargs: object) -> object:
        asked.append(query)
        return answer(query, **kwargs)  # type: ignore[arg-type]

    store.answer = counted  # type: ignore[method-assign]
    pager.page(QUERY, limit=2, after=None)
    pager.page(QUERY, limit=2, after="0001")
    assert len(asked) == 1
    store.write("", _records(1, start=5))
    assert pager.page(QUERY, limit=10, after=None).total == 6 and len(asked) == 2
