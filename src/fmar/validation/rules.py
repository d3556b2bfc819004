"""Rules SHACL cannot say well: VAT numbers and e-mail addresses (by well-kept libraries), MPAN check digits, and
the MPAN's distributor id (its message names the network operator it belongs to)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, SKOS
from rdflib.term import Node
from stdnum.gb import vat

from fmar.config import Settings
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


@dataclass(frozen=True)
class Distributor:
    """A network operator an MPAN's distributor id (its first two digits) names, from the reference data."""

    id: str
    name: str
    active: bool


@lru_cache(maxsize=1)
def _reference_folder() -> Path:
    """The folder the reference graph is loaded from (``bootstrap.REFERENCE_GRAPHS["reference"]``)."""
    return Settings().resource("data", "reference")


@lru_cache(maxsize=4)
def _distributors_in(folder: Path) -> dict[str, Distributor]:
    graph = Graph()
    for path in sorted(folder.glob("*.ttl")):
        graph.parse(path, format="turtle")
    table = {}
    for concept, ident in graph.subject_objects(FMAR.distributorId):
        name = graph.value(concept, SKOS.prefLabel) or graph.value(concept, SKOS.notation) or concept
        table[str(ident)] = Distributor(str(ident), str(name), graph.value(concept, OWL.deprecated) != Literal(True))
    return table


def distributors() -> dict[str, Distributor]:
    """Distributor id → its network operator: the DNO licence areas (active) and the IDNOs (``owl:deprecated``:
    inactive in this phase), as ``data/reference`` gives them (the files the reference graph is loaded from)."""
    return _distributors_in(_reference_folder())


def _spans(ids: Iterable[str]) -> str:
    """Two-digit ids as spans: ``10 to 23``, ``10 to 12, 15``."""
    numbers = sorted(int(i) for i in ids)
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][-1] + 1:
            spans[-1].append(n)
        else:
            spans.append([n])
    return ", ".join(f"{s[0]:02d}" if len(s) == 1 else f"{s[0]:02d} to {s[-1]:02d}" for s in spans)


def mpan_distributor(graph: Triples) -> Iterable[tuple[Node, URIRef, Node, str, str]]:
    """importMPAN and exportMPAN must open with the distributor id of an active network operator: the DNO licence
    areas (10 to 23) give the DNO and GSP group; an IDNO's id is refused while IDNOs are inactive (the message names
    it); any other id is not a known one."""
    table = distributors()
    for predicate, term in ((FMAR.importMPAN, "importMPAN"), (FMAR.exportMPAN, "exportMPAN")):
        for node, value in literal_values(graph, predicate):
            text = str(value)
            if len(text) != 13 or not text.isdigit():
                continue  # the format is the SHACL pattern's to report
            found = table.get(text[:2])
            if found is None:
                active = _spans(d.id for d in table.values() if d.active)
                yield (node, predicate, value, f"{term} opens with {text[:2]}, which is not a known MPAN distributor id: "
                       f"those of the DNO licence areas are {active}", "fmar:mpanDistributor")
            elif not found.active:
                yield (node, predicate, value, f"{term} opens with {text[:2]}, the distributor id of {found.name}: "
                       "IDNO networks are inactive until a later phase, so their MPANs are not accepted yet",
                       "fmar:mpanDistributorActive")


ALL = (vat_number, email_address, mpan_check_digit, mpan_distributor)
