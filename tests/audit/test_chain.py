"""The audit hash chain: events are sealed in order, and every kind of tampering with the store is caught."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from fmar.access.principal import SYSTEM
from fmar.audit.chain import GENESIS, Head
from fmar.audit.verify import verify
from fmar.iris import FMAR
from fmar.registry import Registry
from tests.conftest import org_body

EVENTS = 10
SEQUENCE = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?e ?n ?prev ?hash WHERE { ?e fmar:sequence ?n ; fmar:previousHash ?prev ; fmar:eventHash ?hash } ORDER BY ?n"""


@pytest.fixture
def chained(registry: Registry) -> Registry:
    """Ten events: four reference graphs loaded, five registrations and an update."""
    orgs = [registry.organisations.create(SYSTEM, org_body(companyNumber=f"0{n}234567", vatNumber=None))[0]
            for n in range(5)]
    graph = registry.organisations.get(SYSTEM, str(orgs[0]))[1]
    from fmar.records import etag
    registry.organisations.update(SYSTEM, str(orgs[0]), {"tradingName": "Fen Flex", "reason": "rebrand"}, etag(graph))
    return registry


def events(registry: Registry) -> list[dict[str, str]]:
    rows = registry.store.select(SEQUENCE, graphs=[registry.iris.graph("audit")])
    return [{k: str(v) for k, v in row.items()} for row in rows]


def raw(registry: Registry) -> ox.Store:
    return registry.store._store  # type: ignore[attr-defined, no-any-return]


def quads_of(registry: Registry, event: str) -> list[ox.Quad]:
    return list(raw(registry).quads_for_pattern(ox.NamedNode(event), None, None, None))


def test_events_are_numbered_from_one_and_each_names_the_hash_before_it(chained: Registry) -> None:
    found = events(chained)
    assert [int(e["n"]) for e in found] == list(range(1, EVENTS + 1))
    assert found[0]["prev"] == GENESIS
    assert [e["prev"] for e in found[1:]] == [e["hash"] for e in found[:-1]]
    assert len({e["hash"] for e in found}) == EVENTS


def test_an_intact_chain_verifies_and_its_head_is_the_last_event(chained: Registry) -> None:
    result = verify(chained.store, chained.iris)
    last = events(chained)[-1]
    assert result.intact, result.finding
    assert result.events == EVENTS
    assert result.head == Head(EVENTS, last["hash"], last["e"])
    assert chained.write.chain.head == result.head


def test_an_altered_event_is_named(chained: Registry) -> None:
    third = events(chained)[2]["e"]
    store = raw(chained)
    (reason,) = [q for q in quads_of(chained, third) if q.predicate.value == str(FMAR.operation)]
    store.remove(reason)
    store.add(ox.Quad(reason.subject, reason.predicate, ox.Literal("organisation.deregister"), reason.graph_name))
    result = verify(chained.store, chained.iris)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.sequence, result.finding.event) == ("altered", 3, third)


def test_an_altered_hash_is_caught_at_the_link_after_it(chained: Registry) -> None:
    third = events(chained)[2]["e"]
    store = raw(chained)
    (sealed,) = [q for q in quads_of(chained, third) if q.predicate.value == str(FMAR.eventHash)]
    store.remove(sealed)
    store.add(ox.Quad(sealed.subject, sealed.predicate, ox.Literal("f" * 64), sealed.graph_name))
    result = verify(chained.store, chained.iris)
    assert result.finding is not None and (result.finding.kind, result.finding.sequence) == ("altered", 3)


def test_a_removed_event_is_named_by_its_place(chained: Registry) -> None:
    found = events(chained)
    for q in quads_of(chained, found[3]["e"]):
        raw(chained).remove(q)
    result = verify(chained.store, chained.iris)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.sequence, result.finding.event) == ("removed", 4, found[4]["e"])


def test_an_inserted_copy_of_an_event_is_named(chained: Registry) -> None:
    found = events(chained)
    forged = ox.NamedNode(f"{chained.iris.base}audit/forged")
    for q in quads_of(chained, found[1]["e"]):
        obj = ox.Literal("organisation.deregister") if q.predicate.value == str(FMAR.operation) else q.object
        raw(chained).add(ox.Quad(forged, q.predicate, obj, q.graph_name))
    result = verify(chained.store, chained.iris)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.sequence, result.finding.event) == ("inserted", 2, forged.value)


def test_an_event_put_in_the_place_of_another_with_a_fresh_hash_is_named(chained: Registry) -> None:
    """An intruder who rewrites event 4 and re-hashes it still breaks the link from event 5."""
    from fmar.audit.chain import digest
    from fmar.ntriples import quad_line

    found = events(chained)
    fourth = found[3]["e"]
    store = raw(chained)
    lines = []
    for q in quads_of(chained, fourth):
        store.remove(q)
        if q.predicate.value == str(FMAR.operation):
            q = ox.Quad(q.subject, q.predicate, ox.Literal("organisation.deregister"), q.graph_name)
        if q.predicate.value != str(FMAR.eventHash):
            store.add(q)
            lines.append(str(ox.Triple(q.subject, q.predicate, q.object)) + " .\n")
    store.add(ox.Quad(ox.NamedNode(fourth), ox.NamedNode(str(FMAR.eventHash)), ox.Literal(digest(lines)),
                      ox.NamedNode(str(chained.iris.graph("audit")))))
    assert quad_line(URIRef(fourth), FMAR.eventHash, Literal(digest(lines))).startswith(f"<{fourth}>")
    result = verify(chained.store, chained.iris)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.sequence, result.finding.event) == ("inserted", 5, found[4]["e"])


def test_an_event_off_the_chain_is_named(chained: Registry) -> None:
    forged = ox.NamedNode(f"{chained.iris.base}audit/forged")
    raw(chained).add(ox.Quad(forged, ox.NamedNode(str(FMAR.operation)), ox.Literal("asset.create"),
                             ox.NamedNode(str(chained.iris.graph("audit")))))
    result = verify(chained.store, chained.iris)
    assert result.finding is not None
    assert (result.finding.kind, result.finding.event) == ("inserted", forged.value)


def test_events_removed_from_the_end_are_caught_against_an_exported_head(chained: Registry) -> None:
    exported = verify(chained.store, chained.iris).head
    assert exported is not None
    for q in quads_of(chained, events(chained)[-1]["e"]):
        raw(chained).remove(q)
    assert verify(chained.store, chained.iris).intact  # the chain alone cannot tell
    result = verify(chained.store, chained.iris, exported)
    assert result.finding is not None and (result.finding.kind, result.finding.sequence) == ("truncated", EVENTS)


def test_a_chain_rewritten_up_to_an_exported_head_is_caught(chained: Registry) -> None:
    exported = verify(chained.store, chained.iris).head
    assert exported is not None
    forged = Head(exported.sequence, "e" * 64, exported.event)
    result = verify(chained.store, chained.iris, forged)
    assert result.finding is not None and (result.finding.kind, result.finding.sequence) == ("altered", EVENTS)


def test_a_newer_chain_still_holds_an_older_head(chained: Registry) -> None:
    exported = verify(chained.store, chained.iris).head
    chained.organisations.create(SYSTEM, org_body(companyNumber="09234567", vatNumber=None))
    result = verify(chained.store, chained.iris, exported)
    assert result.intact and result.head is not None and result.head.sequence == EVENTS + 1


def test_a_failed_write_leaves_the_head_where_it_was(chained: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    head = chained.write.chain.head

    def broken(*args: object) -> None:
        raise OSError("disk full")
    monkeypatch.setattr(chained.store, "write", broken)
    with pytest.raises(OSError):
        chained.organisations.create(SYSTEM, org_body(companyNumber="09234567", vatNumber=None))
    monkeypatch.undo()
    assert chained.write.chain.head == head
    chained.organisations.create(SYSTEM, org_body(companyNumber="09234567", vatNumber=None))
    assert verify(chained.store, chained.iris).intact


def test_a_registry_opened_again_carries_on_the_chain(chained: Registry) -> None:
    chained.write.chain.forget()
    chained.organisations.create(SYSTEM, org_body(companyNumber="09234567", vatNumber=None))
    result = verify(chained.store, chained.iris)
    assert result.intact and result.head is not None and result.head.sequence == EVENTS + 1


@pytest.mark.parametrize("when", ["2026-12-01T21:00:00+00:00", "2026-12-01T21:00:00.120000+00:00",
                                  "2026-12-01T21:00:10.000001+00:00", "2026-06-01T23:30:00+01:00",
                                  "0500-01-01T00:00:00+00:00"])
def test_event_times_are_written_as_oxigraph_keeps_them(registry: Registry, when: str) -> None:
    """An event's hash is checked from what the store gives back, so its time must survive the round trip."""
    from datetime import datetime

    from fmar.audit.events import xsd_literal
    from fmar.ntriples import quad_line
    from fmar.store.syntax import canonical_nquads

    line = quad_line(URIRef("urn:e"), FMAR.at, xsd_literal(datetime.fromisoformat(when)), URIRef("urn:g"))
    assert canonical_nquads(line) == line
