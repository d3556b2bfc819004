"""The compiled engine reports exactly what pyshacl reports, on a corpus of good and bad records.

Every submission below goes through the real services with a validator that runs both engines
on the same data, linked records and reference data, and fails on any difference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import pytest
from rdflib import Graph
from rdflib.term import Node

from fmar.access.principal import SYSTEM
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.errors import FmarError
from fmar.registry import Registry, build
from fmar.validation import make_validator
from fmar.validation.shacl import Facts, Result
from tests.api.test_assets import HARD_RULES
from tests.conftest import asset_body, mpan, org_body


class BothEngines:
    """Runs pyshacl and the compiled engine; any difference fails the test."""

    def __init__(self, registry: Registry) -> None:
        shapes, terms = registry.catalogue.shapes, registry.context.term_for
        self.reference = make_validator("pyshacl", shapes, terms)
        self.compiled = make_validator("compiled", shapes, terms)
        self.shapes = shapes
        self.compared = 0

    def set_reference(self, reference: Graph) -> None:
        self.reference.set_reference(reference)
        self.compiled.set_reference(reference)

    def validate(self, data: Graph, focus: Iterable[Node], context: Graph | None = None) -> list[Result]:
        focus = list(focus)
        expected = self.reference.validate(data, focus, context)
        actual = self.compiled.validate(data, focus, context)
        assert _key(actual) == _key(expected), f"compiled {_key(actual) - _key(expected)} pyshacl {_key(expected) - _key(actual)}"
        self.compared += 1
        return actual

    def core(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        return []  # compared whole, in context

    def in_context(self, facts: Facts, focus: list[str], linked: Facts | None = None) -> list[Result]:
        """A batch of facts (the registration path): pyshacl's results and the compiled engine's, both passes."""
        expected = self.reference.in_context(facts, focus, linked)
        actual = self.compiled.core(facts, focus, linked) + self.compiled.in_context(facts, focus, linked)
        assert _key(actual) == _key(expected), f"compiled {_key(actual) - _key(expected)} pyshacl {_key(expected) - _key(actual)}"
        self.compared += 1
        return actual


COMPARISONS = {"sh:minExclusive", "sh:minInclusive", "sh:maxExclusive", "sh:maxInclusive", "sh:lessThan",
               "sh:lessThanOrEquals"}


def _key(results: list[Result]) -> set[tuple[Any, ...]]:
    """What must agree. An ill-typed value (already an sh:datatype result) cannot be compared: the SHACL
    spec makes every comparison on it a violation, pyshacl reports some and not others, so those are left out."""
    ill_typed = {(r.focusNode, r.path, r.value) for r in results if r.constraint == "sh:datatype"}
    return {(r.focusNode, r.path, r.constraint, r.severity, r.value) for r in results
            if not (r.constraint in COMPARISONS and (r.focusNode, r.path, r.value) in ill_typed)}


@pytest.fixture(scope="module")
def both() -> tuple[Registry, BothEngines]:
    registry = build(Settings(base_iri="http://testserver/"))
    load_reference(registry.write, registry.iris, registry.settings)
    engines = BothEngines(registry)
    engines.set_reference(registry.catalogue.reference)
    registry.catalogue.use(engines)  # type: ignore[arg-type]
    return registry, engines


def _try(call: Any, *args: Any) -> None:
    with contextlib.suppress(FmarError):
        call(*args)


ORGANISATIONS = [
    {}, {"companyNumber": "12"}, {"legalName": ""}, {"roles": ["WIZARD"]}, {"organisationType": "XYZ"},
    {"organisationType": "LTD", "companyNumber": None}, {"roles": ["DNO"]}, {"roles": ["DNO"], "networkAreas": ["IDNO_GTC"]},
    {"website": "ftp://x"}, {"primaryContact": {"givenName": "A", "familyName": "B", "email": "a@b.example",
                                                "telephone": "12345"}},
    {"registeredAddress": {"city": "Ely"}}, {"tradingName": "t" * 300},
]


@pytest.mark.parametrize("override", ORGANISATIONS, ids=range(len(ORGANISATIONS)))
def test_organisations(both: tuple[Registry, BothEngines], override: dict[str, Any]) -> None:
    registry, engines = both
    before = engines.compared
    number = f"{abs(hash(str(override))) % 10**8:08d}"
    body = {k: v for k, v in org_body(**{"companyNumber": number, **override}).items() if v is not None}
    _try(registry.organisations.create, SYSTEM, body)
    assert engines.compared > before


@pytest.fixture(scope="module")
def fsp(both: tuple[Registry, BothEngines]) -> str:
    registry, _ = both
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="55555555"))
    return registry.iris.identifier(org)


EXTRA_ASSETS: list[dict[str, Any]] = [
    {}, {"ratedCapacity": 2_000_000}, {"dno": "NGED_EMID", "gspGroup": "_A"}, {"assetCategory": "OTHER"},
    {"assetCategory": "SOLAR_PV", "exportMPAN": mpan("100000000002"), "importMPAN": None, "storageCapacity": None},
    {"assetCategory": "HVAC", "demandTechType": "HVAC", "storageCapacity": None, "generationCapacity": 1},
    {"colourless": None, "installedCapacity": 4, "demandCapacity": 3, "generationCapacity": 4.5},
]


@pytest.mark.parametrize("override", [o for o, _ in HARD_RULES] + EXTRA_ASSETS,
                         ids=range(len(HARD_RULES) + len(EXTRA_ASSETS)))
def test_assets(both: tuple[Registry, BothEngines], fsp: str, override: dict[str, Any]) -> None:
    registry, engines = both
    before = engines.compared
    n = abs(hash(str(override))) % 10**8
    body = asset_body(fsp, **{"serialNumber": f"C-{n}", "importMPAN": mpan(f"1000{n:08d}"), **override})
    _try(registry.registrations.register, SYSTEM, body)
    assert engines.compared > before


def test_an_asset_whose_operator_is_not_an_fsp(both: tuple[Registry, BothEngines]) -> None:
    registry, engines = both
    supplier, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="66666666", roles=["SUPPLIER"]))
    before = engines.compared
    _try(registry.registrations.register, SYSTEM, asset_body(registry.iris.identifier(supplier), serialNumber="SUP-1"))
    assert engines.compared > before
