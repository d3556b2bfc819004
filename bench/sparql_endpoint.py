"""The SPARQL endpoint against pyoxigraph itself, on the same data in the same run.

Heavy queries (over 50 ms direct): the time through ``fmar serve`` (HTTP, auth, dataset restriction,
serialisation) against pyoxigraph answering and serialising the same query on the same store.
Simple look-ups: requests a second from 4 keep-alive clients, against ``GET /health`` on the same server.

    .venv/bin/python bench/sparql_endpoint.py --assets 20000
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402
from server import FMAR, fmar_serve, free_port, hammer, percentile, seed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HEAVY = {
    "capacity by category and GSP group (aggregate over every asset)":
        (ROOT / "data" / "queries" / "capacity-by-category-and-gsp-group.rq").read_text(encoding="utf-8"),
    "every asset's category, status and capacity, sorted":
        """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
        SELECT ?id ?c ?s ?kw WHERE { ?a a fmar:Asset ; dcterms:identifier ?id ; fmar:assetCategory ?c ;
        fmar:status ?s ; fmar:ratedCapacity ?kw } ORDER BY ?id""",
}
LOOKUP = """PREFIX fmar: <https://w3id.org/fmar#> PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?p ?o WHERE { ?a dcterms:identifier "%s" ; ?p ?o }"""


def direct(store: object, query: str) -> float:
    """Seconds for pyoxigraph to answer and serialise (SPARQL JSON) a query."""
    import pyoxigraph as ox

    assert isinstance(store, ox.Store)
    started = time.perf_counter()
    result = store.query(query, use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    result.serialize(format=ox.QueryResultsFormat.JSON)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    # The look-ups come from one address: its anonymous budget must admit every client at once, and leave a worker.
    os.environ.setdefault("FMAR_SPARQL_ANONYMOUS_QUERIES", str(args.clients))
    os.environ.setdefault("FMAR_SPARQL_WORKERS", str(args.clients + 1))
    with tempfile.TemporaryDirectory(prefix="fmar-sparql-bench-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", base + "/"], check=True, capture_output=True)
        ids = seed(data, base + "/", args.assets)["ids"]
        assert isinstance(ids, list)
        copy = Path(tmp) / "direct-store"
        shutil.copytree(data / "store", copy)
        token = subprocess.run([FMAR, "token", "--data-dir", str(data), "--role", "admin"], check=True,
                               capture_output=True, text=True).stdout.strip()
        with fmar_serve(data, port):
            import pyoxigraph as ox

            # A copy of the store, opened as the server opens its own, holds the same data; the two are timed
            # in turn, so that the machine's drift falls on both.
            store = ox.Store(str(copy))
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/sparql-results+json"}
            served: dict[str, float] = {}
            ours_direct: dict[str, float] = {}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                for name, query in HEAVY.items():
                    runs, direct_runs = [], []
                    for _ in range(args.repeat):
                        direct_runs.append(direct(store, query))
                        started = time.perf_counter()
                        response = client.post("/sparql", content=query.encode(),
                                               headers={"Content-Type": "application/sparql-query"})
                        runs.append(time.perf_counter() - started)
                        assert response.status_code == 200, response.text
                    served[name], ours_direct[name] = statistics.median(runs), statistics.median(direct_runs)
            del store
            lookups = [("GET", f"/sparql?query={quote(LOOKUP % ids[n % len(ids)])}", None) for n in range(args.lookups)]
            hammer(base, lookups[:100], {}, args.clients)
            health_wall, _, _ = hammer(base, [("GET", "/health", None)] * args.lookups, {}, args.clients)
            wall, latencies, statuses = hammer(base, lookups, {}, args.clients)
    print(f"machine: {describe()}")  # noqa: T201
    print(f"data: {args.assets:,} generated assets; heavy queries as the admin (every graph), median of {args.repeat}")  # noqa: T201
    for name in HEAVY:
        overhead = served[name] / ours_direct[name] - 1
        print(f"{name}: pyoxigraph {ours_direct[name] * 1000:.0f} ms, endpoint {served[name] * 1000:.0f} ms, "  # noqa: T201
              f"overhead {overhead:+.0%} (target: at most +20% for queries over 50 ms)")
    ok = sum(s == 200 for s in statuses)
    print(f"simple look-ups (one asset's public facts, anonymous): {args.lookups / wall:,.0f}/s from {args.clients} "  # noqa: T201
          f"clients, p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, {ok} answered 200 "
          f"(target: 1,000+/s); GET /health on the same server: {args.lookups / health_wall:,.0f}/s")


if __name__ == "__main__":
    main()
