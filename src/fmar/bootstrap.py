"""Initialising a registry: reference graphs from the repository's files, then optional demo data."""

from __future__ import annotations

from fmar.registry import Registry

#: Named graph → the files it is loaded from (relative to the resource directory).
REFERENCE_GRAPHS = {
    "ontology": ("ontology", "*.ttl"),
    "shapes": ("shapes", "**/*.ttl"),
    "codes": ("data/codes", "*.ttl"),
    "reference": ("data/reference", "*.ttl"),
}


def load_reference(registry: Registry) -> dict[str, int]:
    """(Re)load the ontology, shapes, code lists and reference data; returns files per graph."""
    loaded = {}
    for name, (folder, pattern) in REFERENCE_GRAPHS.items():
        files = sorted(registry.settings.resource(folder).glob(pattern))
        registry.store.load(files, registry.iris.graph(name))
        loaded[name] = len(files)
    registry.write._reference = None  # the validation context is read again on next use
    return loaded
