"""How the compiled engine runs SPARQL constraints over a batch: which triples it stages, which queries it
may run once unbound, and that an unbound run answers only for the focus nodes of its shape."""

from __future__ import annotations

import pytest

from fmar.access.principal import SYSTEM
from fmar.registry import Registry
from fmar.validation.engine import _binds_this, _predicates_read
from tests.conftest import asset_body, mpan, org_body

F = "PREFIX f: <http://x#>\n"


@pytest.mark.parametrize(("query", "predicates"), [
    ("SELECT $this WHERE { $this f:a ?v }", {"a"}),
    ("SELECT $this WHERE { $this f:a|^f:b/f:c* ?v FILTER NOT EXISTS { ?v f:d/f:e ?w } }", {"a", "b", "c", "d", "e"}),
    ("SELECT $this WHERE { { $this f:a ?v } UNION { $this f:b ?v FILTER EXISTS { ?v f:c ?w } } }", {"a", "b", "c"}),
    ("SELECT $this WHERE { $this ?p ?v }", None),
    ("SELECT $this WHERE { $this f:a ?v FILTER NOT EXISTS { ?v !f:d ?w } }", None),
    ("SELECT $this WHERE { $this f:a ?v FILTER EXISTS { ?v f:x ?w ; ?p ?w } }", None),
])
def test_only_the_predicates_a_query_can_match_are_staged(query: str, predicates: set[str] | None) -> None:
    found = _predicates_read([F + query])
    if predicates is None:
        assert found is None
    else:
        assert found is not None
        assert {p.strip("<>").rsplit("#", 1)[-1] for p in found} == predicates


@pytest.mark.parametrize(("query", "free"), [
    ("SELECT $this WHERE { $this f:a ?v FILTER NOT EXISTS { $this f:b ?w } }", True),
    ("SELECT DISTINCT $this ?v WHERE { { $this f:a ?v } UNION { $this f:b ?v } }", True),
    ("SELECT $this WHERE { ?v f:a $this . BIND (1 AS ?one) }", True),
    ("SELECT $this WHERE { FILTER NOT EXISTS { $this f:a ?v } }", False),
    ("SELECT $this WHERE { { $this f:a ?v } UNION { ?x f:b ?v } }", False),
    ("SELECT $this WHERE { OPTIONAL { $this f:a ?v } }", False),
    ("SELECT $this WHERE { $this f:a ?v } LIMIT 1", False),
])
def test_a_query_runs_unbound_only_when_every_solution_binds_this(query: str, free: bool) -> None:
    assert _binds_this(F + query) is free


def test_an_unbound_run_answers_only_for_its_own_focus_nodes(registry: Registry) -> None:
    """A batch of two categories, with another organisation's asset on the same MPAN in the context:
    each record gets the results of its own shapes, and the context asset gets none."""
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="41414141"))
    other, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="42424242"))
    shared = mpan("100000007701")
    registry.registrations.register(SYSTEM, asset_body(str(other), importMPAN=shared, serialNumber="CTX-1",
                                                connectionStatus="PENDING", commissioningDate=None))
    bodies = [asset_body(str(org), importMPAN=shared, serialNumber="B-1"),
              asset_body(str(org), importMPAN=mpan("100000007702"), serialNumber="H-1", assetCategory="HEAT_PUMP",
                         demandTechType="HEAT_PUMP", storageCapacity=None, connectionStatus="CONNECTED",
                         commissioningDate=None)]
    reports = list(registry.registrations.run(SYSTEM, [(i, b, None) for i, b in enumerate(bodies)]))
    assert [(v["path"], v["constraint"]) for v in reports[0].violations] == [
        ("importMPAN", "fmarsh:MpanUsedByAnotherOrganisation")]
    assert [(v["path"], v["constraint"]) for v in reports[1].violations] == [
        ("commissioningDate", "fmarsh:ConnectedNeedsCommissioningDate")]
