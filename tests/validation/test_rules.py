"""The Python rules: the MPAN's distributor id against the reference data (data/reference)."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef

from fmar.iris import FMAR
from fmar.validation.rules import distributors, mpan_distributor
from tests.conftest import mpan

#: The data dictionary's table (../shared/design/data-dictionary.md, "GB reference data") and its IDNOs.
DNO_IDS = [str(n) for n in range(10, 24)]
IDNOS = {"24": "Independent Power Networks", "25": "ESP Electricity", "26": "Last Mile", "27": "GTC",
         "29": "Harlaxton Energy Networks", "32": "Energy Assets Networks", "33": "Eclipse Power Networks"}


def test_the_reference_data_gives_the_dno_areas_active_and_the_idnos_inactive() -> None:
    table = distributors()
    assert sorted(i for i, d in table.items() if d.active) == DNO_IDS
    assert {i: d.name.removesuffix(" (IDNO)") for i, d in table.items() if not d.active} == IDNOS


def _results(*values: str, predicate: URIRef = FMAR.importMPAN) -> list[tuple[str, str, str]]:
    graph = Graph()
    for n, value in enumerate(values):
        graph.add((URIRef(f"http://x/a{n}"), predicate, Literal(value)))
    return [(str(v), m, c) for _, _, v, m, c in mpan_distributor(graph)]


@pytest.mark.parametrize("distributor", DNO_IDS)
def test_every_dno_area_is_accepted(distributor: str) -> None:
    assert _results(mpan(f"{distributor}0000000001")) == []


@pytest.mark.parametrize("distributor", ["00", "01", "09", "28", "34", "99"])
def test_an_unknown_distributor_id_is_refused(distributor: str) -> None:
    [(value, message, constraint)] = _results(mpan(f"{distributor}0000000001"), predicate=FMAR.exportMPAN)
    assert constraint == "fmar:mpanDistributor" and value.startswith(distributor)
    assert message.startswith(f"exportMPAN opens with {distributor}, which is not a known") and "10 to 23" in message


@pytest.mark.parametrize(("distributor", "name"), sorted(IDNOS.items()))
def test_an_idno_distributor_id_is_refused_naming_the_idno(distributor: str, name: str) -> None:
    [(_, message, constraint)] = _results(mpan(f"{distributor}0000000001"))
    assert constraint == "fmar:mpanDistributorActive"
    assert f"importMPAN opens with {distributor}, the distributor id of {name} (IDNO)" in message
    assert "inactive" in message


def test_malformed_mpans_are_left_to_the_pattern() -> None:
    assert _results("99", "990000000000", "99000000000000", "99x0000000001") == []
