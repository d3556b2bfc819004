"""Rules a well-kept library checks better than a SHACL pattern: VAT numbers and email addresses."""

from __future__ import annotations

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from rdflib import Graph, URIRef
from rdflib.term import Node
from stdnum.gb import vat

from fmar.iris import FMAR
from fmar.validation.shacl import literal_values


def vat_number(graph: Graph) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """A UK VAT number must pass python-stdnum's checksum."""
    for node, value in literal_values(graph, FMAR.vatNumber):
        if not vat.is_valid(str(value)):
            yield node, FMAR.vatNumber, value, "vatNumber is not a valid UK VAT number (check digits)", "fmar:vatChecksum"


def email_address(graph: Graph) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """Email addresses must be syntactically valid (no DNS look-up)."""
    for node, value in literal_values(graph, FMAR.email):
        try:
            validate_email(str(value), check_deliverability=False)
        except EmailNotValidError as exc:
            yield node, FMAR.email, value, f"email is not a valid address: {exc}", "fmar:emailSyntax"


ALL = (vat_number, email_address)
