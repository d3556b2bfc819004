"""A real ``fmar serve`` on 127.0.0.1 for the benchmarks, and the concurrent clients that load it."""

from __future__ import annotations

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
