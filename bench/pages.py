"""Pages of the lists and views: what a page costs by its size and format, on a real `fmar serve` holding N
assets, against the same server's /health measured in the same run.

    .venv/bin/python bench/pages.py --assets 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402
from server import FMAR, fmar_serve, free_port, seed  # noqa: E402

FORMATS = {"json-ld": "application/ld+json", "csv": "text/csv", "turtle": "text/turtle"}
ADMIN: dict[str, str] = {}


def timed(client: httpx.Client, path: str, headers: dict[str, str], repeat: int = 3) -> tuple[float, float, int]:
    """Seconds of a GET the first time (after a write: the matches found afresh), the median of the next ones (the
    matches kept), and its status."""
    client.post("/sparql/update", content=b"INSERT DATA { GRAPH <urn:bench> { <urn:s> <urn:p> <urn:o> } }",
                headers={**ADMIN, "Content-Type": "application/sparql-update"})  # a write: nothing kept holds
    seconds, status = [], 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        status = client.get(path, headers=headers).status_code
        seconds.append(time.perf_counter() - started)
    return seconds[0], statistics.median(seconds[1:]), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fmar-pages-bench-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        iri = f"http://127.0.0.1:{port}/"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", iri], check=True, capture_output=True)
        created = seed(data, iri, args.assets)["created"]
        admin = subprocess.run([FMAR, "token", "--data-dir", str(data), "--role", "admin"], check=True,
                               capture_output=True, text=True).stdout.strip()
        ADMIN["Authorization"] = f"Bearer {admin}"
        rows = []
        with fmar_serve(data, port) as base, httpx.Client(base_url=base, timeout=600) as client:
            _, health, _ = timed(client, "/health", {}, 20)
            for size in (10, 100, 500):
                for name, media in FORMATS.items():
                    rows.append(("GET /views/assets (anonymous)", name, size,
                                 *timed(client, f"/views/assets?limit={size}", {"Accept": media})))
                rows.append(("GET /assets (admin)", "json-ld", size, *timed(client, f"/assets?limit={size}", ADMIN)))
            rows.append(("GET /views/assets (anonymous)", "json-ld", 1000, *timed(client, "/views/assets?limit=1000", {})))
    print(f"machine: {describe()}")  # noqa: T201
    print(f"assets: {created} registered; GET /health on the same server: {health * 1000:.1f} ms")  # noqa: T201
    for surface, fmt, size, first, kept, status in rows:
        print(f"{surface:32} {fmt:8} limit {size:5}: first {first * 1000:8.1f} ms, paging on {kept * 1000:8.1f} ms"  # noqa: T201
              f"  ({status})")
    print(json.dumps({"health_ms": health * 1000}))  # noqa: T201


if __name__ == "__main__":
    main()
