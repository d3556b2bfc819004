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
from server import FMAR, fmar_serve, free_port  # noqa: E402

SEED = """
import json, sys
from pathlib import Path
from fmar.access.principal import SYSTEM
from fmar.arm.generator import generate
from fmar.config import Settings
import fmar.registry
build = getattr(fmar.registry, 'build', None) or fmar.registry.Registry  # this code, or an earlier one
registry = build(Settings(data_dir=Path(sys.argv[1]), base_iri=sys.argv[2]))
demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text())
org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
bulk = getattr(registry, 'registrations', None) or registry.bulk
rows = ((i, b, None) for i, b in enumerate(generate(int(sys.argv[3]), str(org))))
print(sum(1 for r in bulk.run(SYSTEM, rows) if r.status == "created"))
registry.close()
"""
FORMATS = {"json-ld": "application/ld+json", "csv": "text/csv", "turtle": "text/turtle"}


def timed(client: httpx.Client, path: str, headers: dict[str, str], repeat: int = 3) -> tuple[float, int]:
    """Median seconds of a GET, and its status."""
    seconds, status = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        status = client.get(path, headers=headers).status_code
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fmar-pages-bench-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        iri = f"http://127.0.0.1:{port}/"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", iri], check=True, capture_output=True)
        created = subprocess.run([sys.executable, "-c", SEED, str(data), iri, str(args.assets)], check=True,
                                 capture_output=True, text=True).stdout.strip().splitlines()[-1]
        admin = subprocess.run([FMAR, "token", "--data-dir", str(data), "--role", "admin"], check=True,
                               capture_output=True, text=True).stdout.strip()
        rows = []
        with fmar_serve(data, port) as base, httpx.Client(base_url=base, timeout=600) as client:
            health, _ = timed(client, "/health", {}, 20)
            for size in (10, 100, 500):
                for name, media in FORMATS.items():
                    seconds, status = timed(client, f"/views/assets?limit={size}", {"Accept": media})
                    rows.append(("GET /views/assets (anonymous)", name, size, seconds, status))
                seconds, status = timed(client, f"/assets?limit={size}", {"Authorization": f"Bearer {admin}"})
                rows.append(("GET /assets (admin)", "json-ld", size, seconds, status))
            seconds, status = timed(client, "/views/assets?limit=1000", {})
            rows.append(("GET /views/assets (anonymous)", "json-ld", 1000, seconds, status))
    print(f"machine: {describe()}")  # noqa: T201
    print(f"assets: {created} registered; GET /health on the same server: {health * 1000:.1f} ms")  # noqa: T201
    for surface, fmt, size, seconds, status in rows:
        print(f"{surface:32} {fmt:8} limit {size:5}: {seconds * 1000:8.1f} ms  ({status})")  # noqa: T201
    print(json.dumps({"health_ms": health * 1000}))  # noqa: T201


if __name__ == "__main__":
    main()
