"""Audit trail benchmarks (issue #5), each against a baseline measured in the same run:

1. registrations (in process, to disk) with the audit event and without it, in alternating rounds;
2. ``fmar audit verify`` over a chain of N events (default 1,000,000) written to disk;
3. an as-of read of one asset with 100 versions, against a plain read of the same asset.

    .venv/bin/python bench/audit.py --registrations 1500 --events 1000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

BASE = "http://127.0.0.1:8000/"


def registry_at(path: Path, audited: bool = True) -> tuple[Any, Any]:
    """A registry over a fresh data directory, and its one FSP; without audit events when ``audited`` is False."""
    from fmar.access.principal import SYSTEM
    from fmar.bootstrap import load_reference
    from fmar.config import Settings
    from fmar.registry import build

    path.mkdir(parents=True, exist_ok=True)
    registry = build(Settings(data_dir=path, base_iri=BASE))
    load_reference(registry.write, registry.iris, registry.settings)
    demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text(encoding="utf-8"))
    org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
    if not audited:  # the write path with no event: what the audit costs is the difference
        def unaudited(info: Any, removed: Any, added: Any, changes: Any = None) -> str:
            registry.store.write("".join(removed), "".join(added))
            return BASE + "audit/none"
        registry.write._write = unaudited
    return registry, org


def registrations(tmp: Path, count: int, rounds: int) -> dict[str, list[float]]:
    """Registrations per second with and without the audit event, each round on fresh stores, alternating."""
    from fmar.access.principal import Principal
    from fmar.arm.generator import generate

    rates: dict[str, list[float]] = {"audited": [], "unaudited": []}
    for n in range(rounds):
        for mode in ("audited", "unaudited") if n % 2 == 0 else ("unaudited", "audited"):
            registry, org = registry_at(tmp / f"reg-{mode}-{n}", audited=mode == "audited")
            fsp = Principal(role="fsp", subject="bench", org=org, org_admin=True, asset_manager=True)
            bodies = list(generate(count, str(org), seed=7 + n))
            started = time.perf_counter()
            for body in bodies:
                registry.registrations.register(fsp, body)
            rates[mode].append(count / (time.perf_counter() - started))
            registry.close()
    return rates


def synthetic_events(iris: Any, chain: Any, count: int) -> Iterator[str]:
    """N-Quads of ``count`` sealed events shaped like a registration's (a change set of 30 triples, 4.5 KB)."""
    from rdflib import URIRef

    from fmar.access.principal import Principal
    from fmar.audit.events import EventInfo, event_quads
    from fmar.ntriples import quad_line

    principal = Principal(role="fsp", subject="bench", org=URIRef(BASE + "organisations/bench"))
    for n in range(count):
        record = URIRef(f"{BASE}assets/{n:08d}")
        added = "".join(f"<{record}> <https://w3id.org/fmar#property{k}> \"value {n * 7919 % 100003} {k}\" "
                        f"<{BASE}graph/org/3f6c2a9e-5b1d-4c8e-9a7f-0e2d4b6c8a1f/area/UKPN_EPN> .\n" for k in range(30))
        event, quads = event_quads(iris, EventInfo("asset.create", principal, [record], request_id=f"r{n}"), "", added)
        sealed = chain.seal(event, quads)
        chain.advance_to(event)
        yield "".join(quad_line(*q) for q in sealed)


def verify_many(tmp: Path, count: int) -> dict[str, float]:
    """Write a chain of ``count`` events to disk, then time ``verify`` over it (and a full read as a baseline)."""
    from fmar.audit.chain import Chain
    from fmar.audit.verify import verify
    from fmar.iris import Iris
    from fmar.store import open_store

    path = tmp / "chain"
    store, iris = open_store(path), Iris(BASE)
    chain = Chain(store, iris)
    started = time.perf_counter()
    batch: list[str] = []
    for text in synthetic_events(iris, chain, count):
        batch.append(text)
        if len(batch) == 20_000:
            store.write("", "".join(batch))
            batch = []
    if batch:
        store.write("", "".join(batch))
    store.close()
    written = time.perf_counter() - started
    store = open_store(path, read_only=True)
    chunks = 0

    def count_bytes(chunk: bytes) -> None:
        nonlocal chunks
        chunks += len(chunk)
    started = time.perf_counter()
    store.dump_graph(str(iris.graph("audit")), count_bytes)
    dumped = time.perf_counter() - started
    started = time.perf_counter()
    result = verify(store, iris)
    seconds = time.perf_counter() - started
    assert result.intact and result.events == count, result.finding  # noqa: S101
    return {"events": count, "write_s": written, "dump_s": dumped, "dump_mib": chunks / 2**20, "verify_s": seconds}


def as_of(tmp: Path, versions: int, repeat: int) -> dict[str, float]:
    """One asset changed ``versions - 1`` times: as-of reads at its first, middle and newest version, against a
    plain read of the current record, median of ``repeat``."""
    from datetime import UTC, datetime

    from fmar.access.principal import SYSTEM
    from fmar.arm.generator import generate

    registry, org = registry_at(tmp / "asof")
    for body in generate(2000, str(org), seed=3):  # other assets beside it
        registry.registrations.register(SYSTEM, body)
    asset, _ = registry.registrations.register(SYSTEM, next(generate(1, str(org), seed=4, start=5000)))
    value = registry.iris.identifier(asset)
    times = []
    for n in range(versions - 1):
        times.append(datetime.now(UTC).isoformat())
        registry.assets.update(SYSTEM, value, {"assetName": f"version {n + 2}"}, "*")
    times.append(datetime.now(UTC).isoformat())

    def median_ms(call: Any) -> float:
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)
    figures = {"plain_read_ms": median_ms(lambda: registry.assets.get(SYSTEM, value))}
    for label, when in (("first", times[0]), ("middle", times[len(times) // 2]), ("newest", times[-1])):
        figures[f"as_of_{label}_ms"] = median_ms(lambda when=when: registry.history.as_of(SYSTEM, "assets", value, when))
    figures["history_ms"] = median_ms(lambda: registry.history.versions(SYSTEM, "assets", value))
    registry.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--registrations", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--versions", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {describe()}")  # noqa: T201
    with tempfile.TemporaryDirectory(prefix="fmar-audit-bench-") as tmp:
        rates = registrations(Path(tmp), args.registrations, args.rounds)
        audited, unaudited = statistics.median(rates["audited"]), statistics.median(rates["unaudited"])
        print(f"registrations ({args.registrations} a round, {args.rounds} rounds, to disk): "  # noqa: T201
              f"with audit {audited:,.0f}/s {[round(r) for r in rates['audited']]}, "
              f"without {unaudited:,.0f}/s {[round(r) for r in rates['unaudited']]}: "
              f"the audit costs {1 - audited / unaudited:.1%} (target: at most 15%)")
        figures = as_of(Path(tmp), args.versions, args.repeat)
        print(f"as-of read, one asset of {args.versions} versions among 2,000 assets (median of {args.repeat}): "  # noqa: T201
              + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()) + " (target: under 20 ms)")
        chain = verify_many(Path(tmp), args.events)
        print(f"verify: {chain['events']:,} events (written in {chain['write_s']:.0f} s) checked in "  # noqa: T201
              f"{chain['verify_s']:.1f} s; Oxigraph's dump of the same graph alone: {chain['dump_s']:.1f} s, "
              f"{chain['dump_mib']:,.0f} MiB (target: under 60 s)")


if __name__ == "__main__":
    main()
