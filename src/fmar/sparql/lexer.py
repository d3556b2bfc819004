"""A SPARQL tokenizer, just enough to screen a request before Oxigraph parses it.

It finds keywords (outside strings, IRIs and comments), the query's dataset clauses, and the
places an update's ``USING`` clauses go. It errs on the side of seeing too much: a comment ends
at a CR as well as at an LF, so nothing Oxigraph reads as code can hide from it in a comment.
Codepoint escapes (``\\u0053ERVICE``) are refused outright rather than expanded, so that no
difference between this reading and Oxigraph's can hide a keyword.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\r\n]|\\.)*"|'(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
  | (?P<bnode>_:[\w.\-]+)
  | (?P<pname>(?:[^\W\d][\w.\-]*)?:[\w.\-:%\\]*)
  | (?P<name>[^\W\d][\w\-]*)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<punct>\^\^|<=|>=|!=|&&|\|\||.)
""", re.VERBOSE | re.DOTALL)


@dataclass(frozen=True)
class Token:
    kind: str  # iri, string, var, bnode, pname, name, number, punct
    text: str
    start: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "name" and self.text.upper() in words


def tokens(text: str) -> list[Token]:
    """The tokens of a query or update, comments and white space left out."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.group(), match.start()))
    return found


class Refused(ValueError):
    """The request uses something the endpoint never runs; ``forbidden`` when it is valid SPARQL."""

    def __init__(self, message: str, *, forbidden: bool = True) -> None:
        super().__init__(message)
        self.forbidden = forbidden


#: Keywords that reach beyond the registry's own data.
NETWORK = {"SERVICE": "SERVICE (a federated query)", "LOAD": "LOAD (reading data from a URL)"}


def screen(text: str) -> None:
    """Refuse (:class:`Refused`) a request that is not safe to hand to Oxigraph."""
    if re.search(r"\\[uU]", text):
        raise Refused("codepoint escapes (\\u…, \\U…) are not accepted in SPARQL here: write the characters "
                      "themselves", forbidden=False)
    if _MAYBE_NETWORK.search(text) is None:
        return  # no keyword can spell what is not in the text at all
    for token in tokens(text):
        # a word that only starts with the keyword counts too: Oxigraph's grammar reads "SERVICESILENT<…>"
        # as SERVICE SILENT <…>
        word = token.text.upper() if token.kind == "name" else ""
        keyword = next((k for k in NETWORK if word.startswith(k)), None)
        if keyword is not None:
            raise Refused(f"{NETWORK[keyword]} is not allowed: requests run only on this registry's data")


_MAYBE_NETWORK = re.compile("|".join(NETWORK), re.IGNORECASE)


def head(text: str) -> list[Token]:
    """The tokens before the first ``{``: the prologue, the query form and its dataset clauses."""
    found = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "punct"
        if kind == "punct" and match.group() == "{":
            break
        if kind not in ("space", "comment"):
            found.append(Token(kind, match.group(), match.start()))
    return found


@dataclass(frozen=True)
class DatasetClause:
    """The graphs a query's own ``FROM`` and ``FROM NAMED`` clauses name (absolute IRIs)."""

    default: tuple[str, ...] = ()
    named: tuple[str, ...] = ()

    @property
    def given(self) -> bool:
        return bool(self.default or self.named)


def dataset_clause(found: list[Token], base: str | None = None) -> DatasetClause:
    """The query's ``FROM`` / ``FROM NAMED`` graphs, prefixed names and relative IRIs resolved."""
    prefixes: dict[str, str] = {}
    default: list[str] = []
    named: list[str] = []
    i = 0
    while i < len(found):
        token = found[i]
        if token.is_word("BASE") and i + 1 < len(found) and found[i + 1].kind == "iri":
            base = _resolve(found[i + 1].text[1:-1], base)
            i += 2
            continue
        if token.is_word("PREFIX") and i + 2 < len(found) and found[i + 2].kind == "iri":
            prefixes[found[i + 1].text.rstrip(":")] = _resolve(found[i + 2].text[1:-1], base)
            i += 3
            continue
        if token.is_word("FROM"):
            is_named = i + 1 < len(found) and found[i + 1].is_word("NAMED")
            target = found[i + 2] if is_named else (found[i + 1] if i + 1 < len(found) else None)
            iri = _iri(target, prefixes, base) if target is not None else None
            if iri is not None:
                (named if is_named else default).append(iri)
            i += 3 if is_named else 2
            continue
        i += 1
    return DatasetClause(tuple(default), tuple(named))


def _iri(token: Token, prefixes: dict[str, str], base: str | None) -> str | None:
    if token.kind == "iri":
        return _resolve(token.text[1:-1], base)
    if token.kind == "pname":
        prefix, _, local = token.text.partition(":")
        return prefixes[prefix] + local if prefix in prefixes else None
    return None


def _resolve(iri: str, base: str | None) -> str:
    return urljoin(base, iri) if base and ":" not in iri.split("/", 1)[0] else iri


def with_using(text: str, found: list[Token], default: list[str], named: list[str]) -> str:
    """An update with the protocol's ``using-graph-uri`` / ``using-named-graph-uri`` written in as
    ``USING`` clauses of each of its DELETE/INSERT … WHERE operations. :class:`Refused` (not
    forbidden: a bad request) if the update names its own dataset (``USING``, ``WITH``), as the
    protocol says."""
    if not (default or named):
        return text
    if any(t.is_word("USING", "WITH") for t in found):
        raise Refused("the update names its own dataset (USING or WITH): do not also send using-graph-uri "
                      "or using-named-graph-uri", forbidden=False)
    clause = " ".join([*(f"USING <{g}>" for g in default), *(f"USING NAMED <{g}>" for g in named)]) + " "
    depth, cuts = 0, []
    for previous, token in zip([None, *found], found, strict=False):
        if token.kind == "punct" and token.text == "{":
            depth += 1
        elif token.kind == "punct" and token.text == "}":
            depth -= 1
        elif depth == 0 and token.is_word("WHERE") and not (previous is not None and previous.is_word("DELETE")):
            cuts.append(token.start)
    for at in reversed(cuts):
        text = text[:at] + clause + text[at:]
    return text
