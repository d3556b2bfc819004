"""Validation: SHACL shapes, checked by the compiled engine (pyshacl is the reference), plus Python rules."""

from __future__ import annotations

from rdflib import Graph

from fmar.store.staging import Staging
from fmar.validation import rules
from fmar.validation.engine import CompiledValidator
from fmar.validation.shacl import Validator, report_graph

#: Either validator: both validate graphs (``validate``) and batches of facts (``core`` and ``in_context``).
Checker = Validator | CompiledValidator


def make_validator(kind: str, shapes: Graph, term_for: dict[str, str]) -> Checker:
    """The validator the settings name: ``compiled`` (default) or ``pyshacl``."""
    if kind == "pyshacl":
        return Validator(shapes, term_for, rules.ALL)
    if kind == "compiled":
        return CompiledValidator(shapes, term_for, rules.ALL, sparql=Staging)
    raise ValueError(f"unknown validator {kind!r}; use 'compiled' or 'pyshacl'")


def validate_graph(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    """Validate a whole data graph against a shapes graph (every target of every shape) with the engine the
    registry uses: ``(conforms, report)``, the report an ``sh:ValidationReport`` graph in the SHACL vocabulary."""
    validator = CompiledValidator(shapes, {}, (), sparql=Staging)
    validator.set_reference(Graph())
    return report_graph(validator.report(data), shapes)
