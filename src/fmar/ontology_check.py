"""Consistency of the ontology (with alignments) under an OWL 2 DL reasoner (owlready2 + HermiT)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import OWL


def check(files: Sequence[Path]) -> str | None:
    """None when consistent, else the reasoner's complaint. Nothing is fetched (no imports followed)."""
    import owlready2

    graph = Graph()
    for path in files:
        graph.parse(path, format="turtle")
    graph.remove((None, OWL.imports, None))  # everything is already in the graph; never fetch
    with tempfile.TemporaryDirectory() as tmp:
        rdfxml = Path(tmp) / "fmar.owl"
        graph.serialize(rdfxml, format="xml")
        world = owlready2.World()
        onto = world.get_ontology(rdfxml.as_uri()).load()
        try:
            with onto:
                owlready2.sync_reasoner_hermit(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError as exc:
            return str(exc) or "the ontology is inconsistent"
        unsatisfiable = list(world.inconsistent_classes())
        if unsatisfiable:
            return "unsatisfiable classes: " + ", ".join(str(c) for c in unsatisfiable)
    return None
