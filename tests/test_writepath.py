"""The one write path: violations refuse, warnings refuse unless justified, and accepted warnings are kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal

from fmar.access.principal import SYSTEM
from fmar.errors import ValidationFailed
from fmar.iris import FMAR
from fmar.records import etag
from fmar.registry import Registry
from fmar.validation.shacl import Result, load_shapes
from fmar.writepath import refused
from tests.conftest import org_body

WARNING_SHAPE = Path(__file__).parent / "fixtures" / "warning-shape.ttl"
LONG = "A Very Long Trading Name Indeed"


@pytest.fixture
def soft(registry: Registry) -> Registry:
    files = [*sorted(registry.settings.resource("shapes").rglob("*.ttl")), WARNING_SHAPE]
    registry.catalogue.use(registry.catalogue.candidate(load_shapes(files)))
    return registry


def test_a_warning_without_justification_is_refused(soft: Registry) -> None:
    before = set(soft.store.quads())
    with pytest.raises(ValidationFailed) as exc:
        soft.organisations.create(SYSTEM, org_body(tradingName=LONG))
    errors = exc.value.extensions["errors"]
    assert [(e["path"], e["severity"]) for e in errors] == [("tradingName", "Warning")]
    assert "justification" in exc.value.detail
    assert set(soft.store.quads()) == before


def test_violations_are_reported_with_warnings_and_refuse_even_when_justified(soft: Registry) -> None:
    with pytest.raises(ValidationFailed) as exc:
        soft.organisations.create(SYSTEM, org_body(tradingName=LONG, legalName="", justification="really"))
    assert {e["severity"] for e in exc.value.extensions["errors"]} == {"Violation", "Warning"}


def test_a_justified_warning_is_accepted_and_kept_with_the_record_and_the_event(soft: Registry) -> None:
    org, _ = soft.organisations.create(SYSTEM, org_body(tradingName=LONG, justification="the registered name"))
    record = soft.organisations.get(SYSTEM, str(org))[1]
    body = soft.context.write(record, org)
    assert body["acceptedWarnings"][0]["warningPath"] == "tradingName"
    events = soft.store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?r ?j WHERE { GRAPH ?g { ?e fmar:record ?r ; fmar:justification ?j } }""", bindings={"r": org})
    assert [str(e["j"]) for e in events] == ["the registered name"]
    # an update is revalidated in full: the warning must be justified again
    with pytest.raises(ValidationFailed):
        soft.organisations.update(SYSTEM, str(org), {"website": "https://fen.example"}, etag(record))
    _, after = soft.organisations.update(SYSTEM, str(org), {"website": "https://fen.example", "justification": "still"},
                                         etag(record))
    assert len(list(after.objects(org, FMAR.acceptedWarning))) == 1
    assert (None, FMAR.warningMessage, Literal("tradingName is unusually long; check it or justify it")) in after


INFO_SHAPE = Path(__file__).parent / "fixtures" / "info-shape.ttl"


@pytest.fixture
def informed(registry: Registry) -> Registry:
    files = [*sorted(registry.settings.resource("shapes").rglob("*.ttl")), WARNING_SHAPE, INFO_SHAPE]
    registry.catalogue.use(registry.catalogue.candidate(load_shapes(files)))
    return registry


def test_an_info_result_needs_no_justification_and_is_not_kept(informed: Registry) -> None:
    org, graph = informed.organisations.create(SYSTEM, org_body())  # no website, no justification
    told = informed.catalogue.validator.validate(graph, [org], informed.write.linked(set(), {org}))
    assert [(r.path, r.severity) for r in told] == [("website", "Info")]
    assert not list(graph.objects(org, FMAR.acceptedWarning))
    _, after = informed.organisations.update(SYSTEM, str(org), {"tradingName": "Fen"}, etag(graph))
    assert not list(after.objects(org, FMAR.acceptedWarning))


def test_an_info_result_beside_a_warning_still_needs_the_warnings_justification(informed: Registry) -> None:
    with pytest.raises(ValidationFailed) as exc:
        informed.organisations.create(SYSTEM, org_body(tradingName=LONG))
    errors = exc.value.extensions["errors"]
    assert sorted((e["path"], e["severity"]) for e in errors) == [("tradingName", "Warning"), ("website", "Info")]
    assert exc.value.detail == "1 warning(s) need a justification to be accepted"
    org, graph = informed.organisations.create(SYSTEM, org_body(tradingName=LONG, justification="the registered name"))
    kept = [str(graph.value(w, FMAR.warningPath)) for w in graph.objects(org, FMAR.acceptedWarning)]
    assert kept == ["tradingName"]  # the Info result is not an accepted warning


def test_the_verdict_on_each_severity() -> None:
    def result(severity: str) -> Result:
        return Result("p", None, "m", "sh:minCount", severity, "http://x")

    assert not refused([result("Info")], None)
    assert refused([result("Warning")], None) and not refused([result("Warning")], "checked")
    assert refused([result("Violation")], "checked") and refused([result("Info"), result("Violation")], None)
    assert refused([result("Info"), result("Warning")], " ") and not refused([result("Info"), result("Warning")], "ok")
