"""The bulk path's own mechanics: checks run ahead of the lock and again when the store changed meanwhile,
batches read one ahead in a thread, duplicates across batches, text that is not Unicode, and the same
reports as pyshacl gives."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from fmar.access.principal import SYSTEM, Principal
from fmar.arm.bulk import RecordReport, ahead, read_ndjson
from fmar.arm.generator import generate
from fmar.audit.events import DEFLATE_OVER, change_set_of
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.iris import FMAR
from fmar.registry import Registry, build
from tests.conftest import asset_body, mpan, org_body
from tests.rdf_parse import parse_nquads


@pytest.fixture
def fsp(registry: Registry) -> Principal:
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="31313131"))
    return Principal(role="fsp", subject="importer", org=org, org_admin=True, asset_manager=True)


def _rows(bodies: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any] | None, str | None]]:
    return [(i, body, None) for i, body in enumerate(bodies)]


def _statuses(reports: list[RecordReport]) -> list[str]:
    return [r.status for r in reports]


def test_a_batch_is_checked_again_when_its_organisation_changed_after_the_checks(registry: Registry,
                                                                              fsp: Principal) -> None:
    prepared = registry.registrations._prepare(fsp, _rows(list(generate(3, seed=5))))
    assert not any((prepared.batch.results or {}).values())  # valid when checked, ahead of the lock
    registry.organisations.set_status(SYSTEM, str(fsp.org), "Suspended", "late returns")
    outcomes = registry.write.commit_batch(prepared.batch, screen=lambda items: registry.registrations.uniqueness.screen(
        fsp, items, prepared.keys))
    assert [o.refusal for o in outcomes] == ["rejected"] * 3
    assert {p["constraint"] for o in outcomes for p in o.problems} >= {"fmarsh:OperatedByActiveFsp"}
    assert registry.assets.find(SYSTEM, {}).total == 0


def test_a_batch_is_checked_again_when_its_mpan_was_taken_meanwhile(registry: Registry, fsp: Principal) -> None:
    body = asset_body(importMPAN=mpan("100000004401"), serialNumber="LATE-1")
    prepared = registry.registrations._prepare(fsp, _rows([body]))
    other, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="32323232"))
    registry.registrations.register(SYSTEM, asset_body(str(other), importMPAN=body["importMPAN"], serialNumber="EARLY-1"))
    outcomes = registry.write.commit_batch(prepared.batch, screen=lambda items: registry.registrations.uniqueness.screen(
        fsp, items, prepared.keys))
    assert outcomes[0].refusal == "rejected"
    assert [(p["path"], p["severity"]) for p in outcomes[0].problems] == [("importMPAN", "Warning")]


def test_a_batch_is_checked_again_when_a_category_shape_was_published_meanwhile(registry: Registry,
                                                                               fsp: Principal) -> None:
    body = asset_body(assetCategory="HEAT_PUMP", demandTechType="HEAT_PUMP", storageCapacity=None, serialNumber="HP-1")
    prepared = registry.registrations._prepare(fsp, _rows([body]))
    shape = registry.settings.resource("shapes", "categories", "HEAT_PUMP.ttl").read_text(encoding="utf-8")
    registry.categories.publish(SYSTEM, "HEAT_PUMP", shape.replace(
        'sh:message "demandTechType is required for HEAT_PUMP" ]',
        'sh:message "demandTechType is required for HEAT_PUMP" ] , [ sh:path fmar:installedCapacity ; sh:minCount 1 ]'),
        reason="installed capacity now required")
    outcomes = registry.write.commit_batch(prepared.batch, screen=lambda items: registry.registrations.uniqueness.screen(
        fsp, items, prepared.keys))
    assert [p["path"] for p in outcomes[0].problems] == ["installedCapacity"]


def test_duplicates_are_found_across_batches_read_ahead(registry: Registry, fsp: Principal) -> None:
    bodies = list(generate(5, seed=6))
    reports = list(registry.registrations.run(fsp, _rows(bodies + [bodies[1], bodies[4]]), batch_size=2))
    assert _statuses(reports) == ["created"] * 5 + ["duplicate"] * 2
    assert [r.id for r in reports[5:]] == [reports[1].id, reports[4].id]


def test_text_that_no_store_can_hold_is_a_rejected_record_not_a_failed_batch(registry: Registry,
                                                                            fsp: Principal) -> None:
    good = list(generate(2, seed=7))
    lines = [json.dumps(good[0]).encode(), json.dumps({**good[1], "manufacturer": "\ud800"}).encode(),
             b'{"assetName": "caf\xe9"}', json.dumps({**good[1], "dno": "UKPN%zz"}).encode(), json.dumps(good[1]).encode()]
    reports = list(registry.registrations.run(fsp, read_ndjson(lines)))
    assert _statuses(reports) == ["created", "rejected", "rejected", "rejected", "created"]
    assert "surrogate" in reports[1].violations[0]["message"]
    assert "UTF-8" in reports[2].violations[0]["message"]
    assert reports[3].violations[0]["path"] == "dno"


def test_a_batch_event_keeps_its_whole_change_set_deflated(registry: Registry, fsp: Principal) -> None:
    reports = list(registry.registrations.run(fsp, _rows(list(generate(300, seed=8)))))
    assert _statuses(reports) == ["created"] * 300
    rows = registry.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?p ?v WHERE { GRAPH ?g { ?e fmar:operation "asset.create" ; ?p ?v
        FILTER (?p IN (fmar:addedTriples, fmar:addedTriplesDeflated)) } }""")
    assert [r["p"] for r in rows] == [FMAR.addedTriplesDeflated]
    predicate, text = change_set_of(rows[0]["p"], rows[0]["v"])  # type: ignore[arg-type]
    assert predicate == FMAR.addedTriples and len(text) > max(DEFLATE_OVER, 5 * len(str(rows[0]["v"])))
    assets = str(registry.iris.record("assets", ""))  # its restricted graphs by area and the public view
    assert parse_nquads(text) == {q for q in registry.store.quads() if str(q[0]).startswith(assets)}


def test_ahead_keeps_order_raises_errors_and_stops_with_its_consumer() -> None:
    assert [r for _, r in ahead(range(5), lambda n: n * n)] == [0, 1, 4, 9, 16]

    def failing(n: int) -> int:
        if n == 2:
            raise ValueError("bad batch")
        return n

    seen = []
    with pytest.raises(ValueError, match="bad batch"):
        for item, _ in ahead(range(5), failing):
            seen.append(item)
    assert seen == [0, 1]
    started = set()

    def slow(n: int) -> int:
        started.add(n)
        return n

    stream = ahead(range(1000), slow)
    next(stream)
    stream.close()  # the consumer stops: the thread ends without running through the input
    assert len(started) < 10
    assert not any(t.name == "fmar-bulk-prepare" for t in threading.enumerate())


BULK_CASES: list[dict[str, Any]] = [
    {}, {"ratedCapacity": 2_000_000}, {"dno": "NGED_EMID"}, {"assetCategory": "OTHER"}, {"commissioningDate": "2999-01-01"},
    {"connectionStatus": "CONNECTED", "commissioningDate": None}, {"gspGroup": "_P"}, {"effectiveDate": "2001-01-01"},
    {"importMPAN": None, "dno": None, "connectionStatus": "PENDING"}, {"storageCapacity": None, "colour": None},
    {"importMPAN": "1000000000000"}, {"operatedBy": "00000000-0000-4000-8000-000000000000"},
]


def test_bulk_reports_what_pyshacl_reports(fsp: Principal) -> None:
    """The same mixed batch through the bulk path with the compiled engine and with pyshacl."""
    def reports(validator: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
        registry = build(Settings(base_iri="http://testserver/", validator=validator))
        load_reference(registry.write, registry.iris, registry.settings)
        org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="31313131"))
        other, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="34343434"))
        registry.registrations.register(SYSTEM, asset_body(str(other), importMPAN=mpan("100000000001"), serialNumber="O-1"))
        principal = Principal(role="fsp", subject="importer", org=org, org_admin=True, asset_manager=True)
        bodies = [{k: v for k, v in asset_body(**{"serialNumber": f"B-{n}", "importMPAN": mpan(f"1000000001{n:02d}"),
                                                  **case}).items() if v is not None}
                  for n, case in enumerate(BULK_CASES)]
        bodies.append(asset_body(serialNumber="B-X"))  # on the other organisation's MPAN: a warning
        return [(r.status, sorted((v["path"], v["constraint"], v["severity"]) for v in r.violations))
                for r in registry.registrations.run(principal, _rows(bodies), batch_size=5)]

    compiled = reports("compiled")
    assert compiled == reports("pyshacl")
    assert {status for status, _ in compiled} == {"created", "rejected"}
