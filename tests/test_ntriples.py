"""N-Triples terms are written exactly as Oxigraph writes them, and read back to the same text and term."""

from __future__ import annotations

import random

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from fmar.ntriples import literal, parts, quoted, term, to_node

XSD = "http://www.w3.org/2001/XMLSchema#"
TRICKY = ["", "plain", 'say "hi"', "back\\slash", "line\nbreak\r\n", "tab\there", "\b\f", "\x00\x01\x1f\x7f",
          "é ü 漢字 \u2028 😀", "\\n is not a newline", '"\\"' * 3]


def _random_texts(n: int) -> list[str]:
    rng = random.Random(7)
    alphabet = ['"', "\\", "\n", "\r", "\t", "\b", "\f", "\x00", "\x1b", "\x7f", "a", "Z", " ", "é", "😀", "u", "0"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("text", TRICKY + _random_texts(200))
def test_quoting_matches_oxigraph_and_reads_back(text: str) -> None:
    assert quoted(text) == str(ox.Literal(text))
    assert parts(quoted(text)) == (text, XSD + "string", None)
    assert next(iter(ox.parse(input=f"<urn:s> <urn:p> {quoted(text)} .".encode(),
                              format=ox.RdfFormat.N_TRIPLES))).object.value == text


def test_long_text_with_only_common_escapes_takes_the_fast_path_to_the_same_answer() -> None:
    text = '<urn:a> <urn:b> "x\\"y" .\n' * 10_000 + "\t\b\f\r"
    assert quoted(text) == str(ox.Literal(text))


@pytest.mark.parametrize("node", [URIRef("http://example.org/a"), Literal("5.5", datatype=URIRef(XSD + "decimal")),
                                  Literal("chat", lang="FR"), Literal("x"), Literal('a"b')])
def test_rdflib_terms_round_trip(node: URIRef | Literal) -> None:
    nt = term(node)
    assert to_node(nt) == (Literal(str(node), lang="fr") if isinstance(node, Literal) and node.language else node)
    assert nt == str(next(iter(ox.parse(input=f"<urn:s> <urn:p> {nt} .".encode(),
                                        format=ox.RdfFormat.N_TRIPLES))).object)


def test_xsd_string_literals_are_simple_literals() -> None:
    assert literal("x", XSD + "string") == literal("x") == '"x"'
    assert to_node('"x"') == Literal("x")
