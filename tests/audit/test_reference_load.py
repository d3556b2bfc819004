"""Loading the reference graphs (``fmar init``) is a change like any other: one event a graph whose files changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.registry import Registry, build

EVENTS = """PREFIX fmar: <https://w3id.org/fmar#>
SELECT ?g ?d ?file WHERE { ?e fmar:operation "reference.load" ; fmar:record ?g ; fmar:contentDigest ?d ;
  fmar:materialChange ?file }"""


def loads(registry: Registry) -> list[dict[str, str]]:
    rows = registry.store.select(EVENTS, graphs=[registry.iris.graph("audit")])
    return [{k: str(v) for k, v in row.items()} for row in rows]


def test_each_reference_graph_is_loaded_with_one_event_and_reloading_the_same_files_writes_none(
        registry: Registry) -> None:
    found = loads(registry)
    assert {r["g"].rsplit("/", 1)[-1] for r in found} == {"ontology", "shapes", "codes", "reference"}
    assert {r["file"] for r in found if r["g"].endswith("/ontology")} == {"fmar.ttl", "alignments.ttl"}
    load_reference(registry.write, registry.iris, registry.settings)
    assert loads(registry) == found


def test_a_changed_file_is_loaded_again_with_its_new_digest(tmp_path: Path) -> None:
    resources = tmp_path / "resources"
    source = Settings().resource_dir
    for folder in ("ontology", "shapes", "data"):
        shutil.copytree(source / folder, resources / folder)
    registry = build(Settings(base_iri="http://testserver/", resource_dir=resources))
    load_reference(registry.write, registry.iris, registry.settings)
    before = {r["d"] for r in loads(registry) if r["g"].endswith("/codes")}
    codes = sorted((resources / "data" / "codes").glob("*.ttl"))[0]
    codes.write_text(codes.read_text() + "\n# a comment changes the file, not the graph\n")
    load_reference(registry.write, registry.iris, registry.settings)
    after = {r["d"] for r in loads(registry) if r["g"].endswith("/codes")}
    assert len(after) == 2 and before < after
    assert len({r["g"] for r in loads(registry)}) == 4
