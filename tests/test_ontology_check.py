"""The ontology is consistent under HermiT, and a contradiction is caught."""

from pathlib import Path

import pytest

from fmar.config import Settings
from fmar.ontology_check import check

FILES = sorted(Settings().resource("ontology").glob("*.ttl"))


@pytest.mark.slow
def test_ontology_with_alignments_is_consistent() -> None:
    assert check(FILES) is None


@pytest.mark.slow
def test_contradictory_fixture_is_caught() -> None:
    assert check([*FILES, Path(__file__).parent / "fixtures" / "contradictory.ttl"]) is not None
