"""Real HTTP servers on 127.0.0.1 for tests with real clients: the registry's app on uvicorn (in a thread,
so the test can reach its store), ``fmar serve`` (a process, as an operator runs it), and the Oxigraph
server (a process) as the reference endpoint."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

OXIGRAPH = str(Path(sys.executable).parent / "oxigraph")
FMAR = str(Path(sys.executable).parent / "fmar")


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[str]:
    """``app`` on a real uvicorn at 127.0.0.1 (an ephemeral port); yields its base URL."""
    sock = free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def oxigraph_server(location: Path) -> Iterator[str]:
    """The Oxigraph server (from the ``oxigraph`` package) on a store at ``location``; yields its base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    process = subprocess.Popen([OXIGRAPH, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1)
                break
            except httpx.TransportError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    detail = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"oxigraph serve did not start: {detail!r}") from exc
                time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def fmar_serve(data_dir: Path) -> Iterator[str]:
    """``fmar serve`` on an initialised data directory, once it answers ``/ready``; yields its base URL."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below; a pipe nobody reads could stall the server
    server = subprocess.Popen([FMAR, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"fmar serve did not become ready: {log.read()[-2000:]!r}")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
