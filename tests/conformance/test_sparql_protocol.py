"""The W3C SPARQL 1.1 Protocol test suite, all 34 tests: first against the Oxigraph server (which shows
the runner is right), then against the registry's endpoint on a real uvicorn, with an admin token, on
a throwaway store (the suite clears and rewrites whole graphs)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fmar.api.app import create_app
from fmar.config import Settings
from fmar.registry import build
from tests.conformance.protocol_runner import NAME, SUITE, Case, Target, cases, endpoint_path, run
from tests.serving import oxigraph_server, uvicorn_server
from tests.w3c import require

require(SUITE / "manifest.ttl", NAME)
CASES = cases()


def test_the_suite_is_complete() -> None:
    assert len(CASES) == 34
    assert sum(c.name.startswith("bad_") for c in CASES) == 14


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with oxigraph_server(tmp_path_factory.mktemp("oxigraph")) as base:
        def load(graph: str, ntriples: str) -> None:
            httpx.put(f"{base}/store", params={"graph": graph}, content=ntriples.encode(),
                      headers={"Content-Type": "application/n-triples"}).raise_for_status()

        def reset() -> None:
            httpx.post(f"{base}/update", content=b"DROP SILENT ALL",
                       headers={"Content-Type": "application/sparql-update"}).raise_for_status()

        yield Target(lambda path, update: base + endpoint_path(path, "/update" if update else "/query"), load, reset)


@pytest.fixture(scope="module")
def registry_target() -> Iterator[Target]:
    registry = build(Settings(base_iri="http://www.example/"))
    token = registry.tokens.issue(role="admin", subject="w3c-protocol-suite")
    with uvicorn_server(create_app(registry)) as base:
        def load(graph: str, ntriples: str) -> None:
            registry.store.run_update(f"INSERT DATA {{ GRAPH <{graph}> {{ {ntriples} }} }}")

        def reset() -> None:
            registry.store.run_update("DROP SILENT ALL")

        yield Target(lambda path, update: base + endpoint_path(path, "/sparql"), load, reset,
                     {"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_oxigraph_passes_the_runner(oxigraph: Target, case: Case) -> None:
    with httpx.Client(timeout=30) as client:
        assert run(case, oxigraph, client) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_registry_endpoint_passes_the_suite(registry_target: Target, case: Case) -> None:
    with httpx.Client(timeout=30) as client:
        assert run(case, registry_target, client) == []


def test_the_suite_is_read_in_place() -> None:
    from tests.conformance.protocol_runner import SUITE

    assert SUITE.is_dir() and not (Path(__file__).parents[2] / "tests" / "w3c").exists()
