"""Single registrations over HTTP: 4 concurrent clients against a real `fmar serve` on 127.0.0.1,
against the same server's /health (the framework's floor) measured in the same run.

    .venv/bin/python bench/http_registrations.py --count 2000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402
from server import FMAR, fmar_serve, free_port, hammer, percentile, seed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    from fmar.arm.generator import generate

    with tempfile.TemporaryDirectory(prefix="fmar-http-bench-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        iri = f"http://127.0.0.1:{port}/"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", iri], check=True, capture_output=True)
        org = str(seed(data, iri, 0)["org"])
        token = subprocess.run([FMAR, "token", "--data-dir", str(data), "--role", "fsp", "--org", org], check=True,
                               capture_output=True, text=True).stdout.strip()
        with fmar_serve(data, port) as base:
            headers = {"Authorization": f"Bearer {token}"}
            warm = [("POST", "/assets", b) for b in generate(50, seed=98)]
            hammer(base, warm, headers, args.clients)
            health_wall, health_lat, _ = hammer(base, [("GET", "/health", None)] * args.count, headers, args.clients)
            bodies = [("POST", "/assets", b) for b in generate(args.count, seed=99)]
            wall, latencies, statuses = hammer(base, bodies, headers, args.clients)
    created = sum(s == 201 for s in statuses)
    rate, health_rate = args.count / wall, args.count / health_wall
    print(f"machine: {describe()}")  # noqa: T201
    print(f"registrations: {args.count} over HTTP from {args.clients} concurrent clients (keep-alive), "  # noqa: T201
          f"{created} created")
    print(f"fmar POST /assets: {rate:,.0f}/s; latency p50 {percentile(latencies, 50):.1f} ms, "  # noqa: T201
          f"p99 {percentile(latencies, 99):.1f} ms")
    print(f"baseline GET /health on the same server: {health_rate:,.0f}/s; p99 {percentile(health_lat, 99):.1f} ms")  # noqa: T201
    print(f"ratio: registrations at {rate / health_rate:.0%} of the /health rate "  # noqa: T201
          "(target: at least 250 registrations/s, p99 under 50 ms)")
    if created != args.count:
        print(json.dumps({"statuses": sorted(set(statuses))}))  # noqa: T201


if __name__ == "__main__":
    main()
