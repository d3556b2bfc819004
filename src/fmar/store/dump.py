"""``python -m fmar.store.dump STORE GRAPH``: one named graph of an on-disk store, opened read-only, as N-Triples
on standard output. The audit check reads it from a pipe, so that Oxigraph's writing (which holds the
interpreter lock) and the checking of what it wrote run on two cores."""

from __future__ import annotations

import sys

import pyoxigraph as ox


def main(path: str, graph: str) -> None:
    store = ox.Store.read_only(path)
    store.dump(sys.stdout.buffer, format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main(*sys.argv[1:3])
