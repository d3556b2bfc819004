"""Initialising a registry: reference graphs from the repository's files, then optional demo data."""

from __future__ import annotations

from fmar.access.principal import SYSTEM
from fmar.registry import Registry

#: Named graph → the files it is loaded from (relative to the resource directory).
REFERENCE_GRAPHS = {
    "ontology": ("ontology", "*.ttl"),
    "shapes": ("shapes", "**/*.ttl"),
    "codes": ("data/codes", "*.ttl"),
    "reference": ("data/reference", "*.ttl"),
}


def load_reference(registry: Registry) -> dict[str, int]:
    """(Re)load the ontology, shapes, code lists and reference data, each graph whose files changed since
    they were loaded last (one audit event each); returns files per graph."""
    loaded = {}
    for name, (folder, pattern) in REFERENCE_GRAPHS.items():
        files = sorted(registry.settings.resource(folder).glob(pattern))
        registry.write.load_graph(SYSTEM, registry.iris.graph(name), files)
        loaded[name] = len(files)
    registry.write._reference = None  # the validation context is read again on next use
    return loaded
