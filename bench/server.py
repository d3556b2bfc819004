"""A real ``fmar serve`` on 127.0.0.1 for the benchmarks, and the concurrent clients that load it."""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

FMAR = str(Path(sys.executable).parent / "fmar")

#: ``python -c SEED DATA_DIR BASE_IRI COUNT``: the demo FSP and COUNT generated assets of it, registered in bulk
#: (this code, or an earlier one by PYTHONPATH); prints {"org", "created", "ids": the first 500 asset IDs}.
SEED = """
import json, sys
from pathlib import Path
from fmar.access.principal import SYSTEM
from fmar.arm.generator import generate
from fmar.config import Settings
import fmar.registry
build = getattr(fmar.registry, "build", None) or fmar.registry.Registry
registry = build(Settings(data_dir=Path(sys.argv[1]), base_iri=sys.argv[2]))
demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text())
org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
bulk = getattr(registry, "registrations", None) or registry.bulk
rows = ((i, b, None) for i, b in enumerate(generate(int(sys.argv[3]), str(org))))
created = [r.id for r in bulk.run(SYSTEM, rows) if r.status == "created"]
print(json.dumps({"org": registry.iris.identifier(org), "created": len(created), "ids": created[:500]}))
registry.close()
"""


def seed(data: Path, iri: str, count: int) -> dict[str, object]:
    """Register the demo FSP and ``count`` assets in an initialised data directory (see :data:`SEED`)."""
    done = subprocess.run([sys.executable, "-c", SEED, str(data), iri, str(count)], check=True, capture_output=True,
                          text=True)
    seeded: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return seeded


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fmar_serve(data: Path, port: int) -> Iterator[str]:
    """``fmar serve`` on an initialised data directory, until it answers; yields its base URL."""
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([FMAR, "serve", "--data-dir", str(data), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/ready").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # a server stuck in a query holds the interpreter: only SIGKILL stops it
            server.kill()
            server.wait(timeout=15)


def hammer(base: str, requests: list[tuple[str, str, dict[str, object] | None]], headers: dict[str, str],
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


def percentile(latencies: list[float], q: int) -> float:
    """The q-th percentile latency in milliseconds."""
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000 if len(latencies) > 1 else latencies[0] * 1000
