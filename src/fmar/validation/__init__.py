"""Validation: SHACL shapes, checked by the compiled engine (pyshacl is the reference), plus Python rules."""

from __future__ import annotations

from rdflib import Graph

from fmar.store.staging import Staging
from fmar.validation import rules
from fmar.validation.engine import CompiledValidator
from fmar.validation.shacl import Validator

#: Either validator: both validate graphs (``validate``) and batches of facts (``core`` and ``in_context``).
Checker = Validator | CompiledValidator


def make_validator(kind: str, shapes: Graph, term_for: dict[str, str]) -> Checker:
    """The validator the settings name: ``compiled`` (default) or ``pyshacl``."""
    if kind == "pyshacl":
        return Validator(shapes, term_for, rules.ALL)
    if kind == "compiled":
        return CompiledValidator(shapes, term_for, rules.ALL, sparql=Staging)
    raise ValueError(f"unknown validator {kind!r}; use 'compiled' or 'pyshacl'")
