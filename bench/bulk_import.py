"""Bulk import benchmark: validated registration of N generated assets to disk, against pyoxigraph's own
unvalidated bulk_load of the same records to disk, measured in the same run.

    .venv/bin/python bench/bulk_import.py --count 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402


def run_import(data_dir: Path, source: Path, batch: int) -> dict[str, float]:
    """In this process: register every record of ``source`` through the bulk path (full validation)."""
    import fmar.registry
    from fmar.access.principal import SYSTEM, Principal
    from fmar.arm.bulk import read_ndjson, summary
    from fmar.bootstrap import load_reference
    from fmar.config import Settings
    data_dir.mkdir(parents=True, exist_ok=True)
    build = getattr(fmar.registry, "build", None) or fmar.registry.Registry  # this code, or an earlier one
    registry = build(Settings(data_dir=data_dir, base_iri="http://127.0.0.1:8000/"))
    try:
        load_reference(registry.write, registry.iris, registry.settings)
    except TypeError:
        load_reference(registry)
    demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text(encoding="utf-8"))
    org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
    fsp = Principal(role="fsp", subject="bench", org=org, org_admin=True, asset_manager=True)
    started = time.perf_counter()
    with source.open(encoding="utf-8") as fh:
        bulk = getattr(registry, "registrations", None) or registry.bulk
        counts = summary(bulk.run(fsp, read_ndjson(fh), batch))
    registry.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **counts, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def dump_records(data_dir: Path, out: Path) -> int:
    """The asset records as stored (their restricted graphs by area, and their public view), as N-Quads:
    the baseline's input."""
    import pyoxigraph as ox

    store = ox.Store.read_only(str(data_dir / "store"))
    query = """SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o }
      FILTER (STRSTARTS(STR(?g), "http://127.0.0.1:8000/graph/org/") || STR(?g) = "http://127.0.0.1:8000/graph/public") }"""
    quads = [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in store.query(query)]  # type: ignore[union-attr]
    ox.serialize(quads, str(out), format=ox.RdfFormat.N_QUADS)
    return len(quads)


def baseline(nquads: Path, target: Path) -> float:
    """pyoxigraph's bulk_load of the same records to disk, unvalidated."""
    import pyoxigraph as ox

    store = ox.Store(str(target))
    started = time.perf_counter()
    store.bulk_load(path=str(nquads), format=ox.RdfFormat.N_QUADS)
    store.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--child", choices=["import", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "import":
        print(json.dumps(run_import(args.dir / "data", args.dir / "assets.ndjson", args.batch)))  # noqa: T201
        return
    if args.child == "baseline":
        print(json.dumps({"seconds": baseline(args.dir / "records.nq", args.dir / "baseline"),  # noqa: T201
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    from fmar.arm.generator import generate

    with tempfile.TemporaryDirectory(prefix="fmar-bench-") as tmp:
        work = Path(tmp)
        with (work / "assets.ndjson").open("w", encoding="utf-8") as fh:
            for body in generate(args.count, seed=11):
                fh.write(json.dumps(body) + "\n")

        def child(kind: str) -> dict[str, float]:
            out = subprocess.run([sys.executable, __file__, "--child", kind, "--dir", str(work), "--batch",
                                  str(args.batch)], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise SystemExit(f"{kind} failed:\n{out.stderr}")
            return json.loads(out.stdout.strip().splitlines()[-1])

        ours = child("import")
        quads = dump_records(work / "data", work / "records.nq")
        base = child("baseline")
    ours_rate, base_rate = args.count / ours["seconds"], args.count / base["seconds"]
    print(f"machine: {describe()}")  # noqa: T201
    print(f"records: {args.count} generated assets ({quads} quads as stored), batches of {args.batch}")  # noqa: T201
    print(f"fmar bulk import (full validation, to disk): {ours['seconds']:.1f} s = {ours_rate:,.0f} assets/s; "  # noqa: T201
          f"created {ours['created']:.0f}, rejected {ours['rejected']:.0f}, duplicate {ours['duplicate']:.0f}; "
          f"peak memory {ours['peak_rss_mib']:.0f} MiB")
    print(f"baseline pyoxigraph bulk_load of the same records (unvalidated, to disk): {base['seconds']:.1f} s = "  # noqa: T201
          f"{base_rate:,.0f} assets/s")
    print(f"ratio: {ours_rate / base_rate:.0%} of the baseline (target: at least 40%, and at least 5,000 assets/s)")  # noqa: T201


if __name__ == "__main__":
    main()
