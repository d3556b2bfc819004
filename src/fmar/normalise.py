"""Identifiers submitters write in many ways, put in the one form the registry stores and checks.

Applied where a submission is read, before validation, so the rules (``shapes/``, :mod:`fmar.validation.rules`)
judge, the uniqueness checks compare and the record keeps the normalised value:

- a company number: upper case, spaces removed (``sc 123456`` → ``SC123456``);
- a VAT number: compacted by python-stdnum (separators and case; a ``GB`` or ``XI`` prefix optional), then stored
  with its prefix: ``XI`` for a Northern Ireland number, ``GB`` otherwise (``gb 980 7806 84``, ``980780684`` →
  ``GB980780684``; ``xi980780684`` → ``XI980780684``).

A value that does not fit the form is left as it was submitted, so that a refusal quotes what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD
from stdnum.gb import vat
from stdnum.util import clean

from fmar.iris import FMAR

#: A UK VAT number once compacted: 9 digits, 12 (a branch), or a government department or health authority.
_VAT = re.compile(r"^(?:[0-9]{9}|[0-9]{12}|GD[0-9]{3}|HA[0-9]{3})$")
_COMPANY = re.compile(r"^[A-Z0-9]+$")


def company_number(text: str) -> str:
    """A Companies House number in upper case without spaces (left alone if it is not letters and digits)."""
    compact = "".join(text.split()).upper()
    return compact if _COMPANY.match(compact) else text


def vat_number(text: str) -> str:
    """A UK VAT number as stored: ``GB`` (``XI`` for Northern Ireland) and its compact digits."""
    compact = vat.compact(text)
    if not _VAT.match(compact):
        return text
    return ("XI" if clean(text, " -.").upper().strip().startswith("XI") else "GB") + compact


#: Predicate → its normaliser, for organisations.
ORGANISATION: dict[URIRef, Callable[[str], str]] = {FMAR.companyNumber: company_number, FMAR.vatNumber: vat_number}


def normalise(graph: Graph, record: URIRef, normalisers: dict[URIRef, Callable[[str], str]]) -> Graph:
    """The record's plain-text values of the given predicates in their normal form (in place)."""
    for predicate, normaliser in normalisers.items():
        for value in list(graph.objects(record, predicate)):
            if isinstance(value, Literal) and value.datatype in (None, XSD.string) and value.language is None:
                normal = normaliser(str(value))
                if normal != str(value):
                    graph.remove((record, predicate, value))
                    graph.add((record, predicate, Literal(normal, datatype=value.datatype)))
    return graph
