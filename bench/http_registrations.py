"""Single registrations over HTTP: 4 concurrent clients against a real `fmar serve` on 127.0.0.1,
against the same server's /health (the framework's floor) measured in the same run.

    .venv/bin/python bench/http_registrations.py --count 2000
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

FMAR = str(Path(sys.executable).parent / "fmar")
SETUP = """
import json, sys
from pathlib import Path
from fmar.access.principal import SYSTEM
from fmar.config import Settings
from fmar.registry import Registry
registry = Registry(Settings(data_dir=Path(sys.argv[1]), base_iri=sys.argv[2]))
demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text())
org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
print(registry.iris.identifier(org))
registry.close()
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _hammer(base: str, requests: list[tuple[str, str, dict[str, object] | None]], headers: dict[str, str],
            clients: int) -> tuple[float, list[float], list[int]]:
    """Send the requests from ``clients`` threads; (wall seconds, latencies, status codes)."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    shares = [requests[i::clients] for i in range(clients)]

    def worker(share: list[tuple[str, str, dict[str, object] | None]]) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            for method, path, body in share:
                started = time.perf_counter()
                response = client.request(method, path, json=body)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses.append(response.status_code)

    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, latencies, statuses


def _p(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000 if len(latencies) > 1 else latencies[0] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    from fmar.arm.generator import generate

    with tempfile.TemporaryDirectory(prefix="fmar-http-bench-") as tmp:
        data = Path(tmp) / "data"
        port = _port()
        base = f"http://127.0.0.1:{port}"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", base + "/"], check=True, capture_output=True)
        org = subprocess.run([sys.executable, "-c", SETUP, str(data), base + "/"], check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        token = subprocess.run([FMAR, "token", "--data-dir", str(data), "--role", "fsp", "--org", org], check=True,
                               capture_output=True, text=True).stdout.strip()
        server = subprocess.Popen([FMAR, "serve", "--data-dir", str(data), "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    if httpx.get(f"{base}/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            headers = {"Authorization": f"Bearer {token}"}
            warm = [("POST", "/assets", b) for b in generate(50, seed=98)]
            _hammer(base, warm, headers, args.clients)
            health_wall, health_lat, _ = _hammer(base, [("GET", "/health", None)] * args.count, headers, args.clients)
            bodies = [("POST", "/assets", b) for b in generate(args.count, seed=99)]
            wall, latencies, statuses = _hammer(base, bodies, headers, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
    created = sum(s == 201 for s in statuses)
    rate, health_rate = args.count / wall, args.count / health_wall
    print(f"machine: {describe()}")  # noqa: T201
    print(f"registrations: {args.count} over HTTP from {args.clients} concurrent clients (keep-alive), "  # noqa: T201
          f"{created} created")
    print(f"fmar POST /assets: {rate:,.0f}/s; latency p50 {_p(latencies, 50):.1f} ms, p99 {_p(latencies, 99):.1f} ms")  # noqa: T201
    print(f"baseline GET /health on the same server: {health_rate:,.0f}/s; p99 {_p(health_lat, 99):.1f} ms")  # noqa: T201
    print(f"ratio: registrations at {rate / health_rate:.0%} of the /health rate "  # noqa: T201
          "(target: at least 250 registrations/s, p99 under 50 ms)")
    if created != args.count:
        print(json.dumps({"statuses": sorted(set(statuses))}))  # noqa: T201


if __name__ == "__main__":
    main()
