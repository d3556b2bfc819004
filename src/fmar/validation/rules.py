"""Rules SHACL cannot say well: VAT numbers and e-mail addresses (by well-kept libraries), MPAN check digits."""

from __future__ import annotations

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from rdflib import URIRef
from rdflib.term import Node
from stdnum.gb import vat

from fmar.iris import FMAR
from fmar.validation.shacl import Triples, literal_values


def vat_number(graph: Triples) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """A UK VAT number must pass python-stdnum's checksum."""
    for node, value in literal_values(graph, FMAR.vatNumber):
        if not vat.is_valid(str(value)):
            yield node, FMAR.vatNumber, value, "vatNumber is not a valid UK VAT number (check digits)", "fmar:vatChecksum"


def email_address(graph: Triples) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """Email addresses must be syntactically valid (no DNS look-up)."""
    for node, value in literal_values(graph, FMAR.email):
        try:
            validate_email(str(value), check_deliverability=False)
        except EmailNotValidError as exc:
            yield node, FMAR.email, value, f"email is not a valid address: {exc}", "fmar:emailSyntax"


MPAN_WEIGHTS = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)


def mpan_check_digit_ok(mpan: str) -> bool:
    """The MPAN core check digit: weighted sum of the first 12 digits, mod 11, mod 10."""
    if len(mpan) != 13 or not mpan.isdigit():
        return True  # the format is the SHACL pattern's to report
    total = sum(int(d) * w for d, w in zip(mpan[:12], MPAN_WEIGHTS, strict=True))
    return total % 11 % 10 == int(mpan[12])


def mpan_check_digit(graph: Triples) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """importMPAN and exportMPAN must carry a valid check digit."""
    for predicate, term in ((FMAR.importMPAN, "importMPAN"), (FMAR.exportMPAN, "exportMPAN")):
        for node, value in literal_values(graph, predicate):
            if not mpan_check_digit_ok(str(value)):
                yield node, predicate, value, f"{term} has a wrong check digit", "fmar:mpanCheckDigit"


ALL = (vat_number, email_address, mpan_check_digit)
