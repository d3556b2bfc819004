"""Initialising a registry: reference graphs from the repository's files."""

from __future__ import annotations

from fmar.access.principal import SYSTEM
from fmar.config import Settings
from fmar.iris import Iris
from fmar.writepath import WritePath

#: Named graph → the files it is loaded from (relative to the resource directory).
REFERENCE_GRAPHS = {
    "ontology": ("ontology", "*.ttl"),
    "shapes": ("shapes", "**/*.ttl"),
    "codes": ("data/codes", "*.ttl"),
    "reference": ("data/reference", "*.ttl"),
}


def load_reference(write: WritePath, iris: Iris, settings: Settings) -> dict[str, int]:
    """(Re)load the ontology, shapes, code lists and reference data, each graph whose files changed since
    they were loaded last (one audit event each); returns files per graph."""
    loaded = {}
    for name, (folder, pattern) in REFERENCE_GRAPHS.items():
        files = sorted(settings.resource(folder).glob(pattern))
        write.load_graph(SYSTEM, iris.graph(name), files)
        loaded[name] = len(files)
    return loaded
