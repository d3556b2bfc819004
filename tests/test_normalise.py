"""Company and VAT numbers in the one form the registry stores: what is normalised, and what is left as sent."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

from fmar.iris import FMAR
from fmar.normalise import ORGANISATION, company_number, normalise, vat_number


@pytest.mark.parametrize(("given", "stored"), [
    ("01234567", "01234567"), ("sc123456", "SC123456"), (" oc 123 456 ", "OC123456"), ("r0123456", "R0123456"),
    ("SC-123456", "SC-123456"),  # not letters and digits: left for the rule to refuse as sent
])
def test_company_numbers(given: str, stored: str) -> None:
    assert company_number(given) == stored


@pytest.mark.parametrize(("given", "stored"), [
    ("GB980780684", "GB980780684"), ("980780684", "GB980780684"), ("gb 980 7806 84", "GB980780684"),
    ("980-780-684", "GB980780684"), ("XI980780684", "XI980780684"), ("xi 980 780 684", "XI980780684"),
    ("GB980780684001", "GB980780684001"), ("gbgd001", "GBGD001"),
    ("GB12345678", "GB12345678"), ("DE980780684", "DE980780684"), ("not a number", "not a number"),  # left as sent
])
def test_vat_numbers(given: str, stored: str) -> None:
    assert vat_number(given) == stored


def test_normalise_changes_only_plain_text_values_of_the_record() -> None:
    org, other = URIRef("http://x/org"), URIRef("http://x/other")
    graph = Graph()
    graph.add((org, FMAR.companyNumber, Literal("sc123456")))
    graph.add((org, FMAR.vatNumber, Literal("980780684", datatype=XSD.string)))
    graph.add((other, FMAR.companyNumber, Literal("sc654321")))
    graph.add((org, FMAR.legalName, Literal("sc lower")))
    normalise(graph, org, ORGANISATION)
    assert graph.value(org, FMAR.companyNumber) == Literal("SC123456")
    assert graph.value(org, FMAR.vatNumber) == Literal("GB980780684", datatype=XSD.string)
    assert graph.value(other, FMAR.companyNumber) == Literal("sc654321")
    assert graph.value(org, FMAR.legalName) == Literal("sc lower")
