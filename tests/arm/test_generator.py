"""The demo data and the synthetic assets register in full under the data dictionary's rules."""

from __future__ import annotations

import json
from collections import Counter

from fmar.arm.generator import AREAS, CATEGORIES, generate
from fmar.demo import seed
from fmar.registry import Registry
from fmar.validation.rules import distributors


def test_the_demo_registers_every_record_and_asset(registry: Registry) -> None:
    spec_path = registry.settings.resource("data", "demo", "demo.json")
    seeded = seed(spec_path, registry.iris, registry.organisations, registry.users, registry.platforms,
                  registry.registrations)
    assert seeded is not None
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    assert set(seeded["organisations"]) == set(spec["organisations"])
    assert seeded["assets"] == spec["assets"]["count"]


def test_generated_assets_cover_every_category_and_area_with_what_each_requires() -> None:
    bodies = list(generate(2000, "http://testserver/organisations/x", seed=7))
    assert set(Counter(b["assetCategory"] for b in bodies)) == set(CATEGORIES)
    for body in bodies:
        if body["assetCategory"] in {"SOLAR_PV", "WIND_TURBINE"}:
            assert body.get("energySource")  # no default source for generation assets
    active = {i for i, d in distributors().items() if d.active}
    assert {distributor for _, distributor, _ in AREAS} == active
