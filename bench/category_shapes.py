"""What a category shape costs: registering the same BESS assets (bulk batches, and one at a time) with the
shipped shape, with extra constraints the compiled engine compiles, and with constraints it delegates to
pyshacl (``sh:or``, a path expression), measured in the same run; the shipped shape is the baseline.

    .venv/bin/python bench/category_shapes.py --count 4000 --single 200
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402

BESS = "<https://w3id.org/fmar/shapes/category/BESS>"
EXTRA = {
    "shipped": "",
    "native": f"""{BESS} sh:property [ sh:path fmar:manufacturer ; sh:nodeKind sh:Literal ; sh:minLength 1 ;
        sh:node [ sh:pattern "^[A-Za-z]" ] ] .""",
    "delegated": f"""{BESS} sh:property [ sh:path fmar:manufacturer ;
        sh:or ( [ sh:minLength 1 ] [ sh:datatype xsd:integer ] ) ] ;
      sh:property [ sh:path [ sh:alternativePath ( fmar:manufacturer fmar:model ) ] ; sh:minCount 1 ] .""",
}


def measure(kind: str, count: int, single: int, batch: int) -> dict[str, Any]:
    """Register ``count`` generated BESS assets in bulk batches and ``single`` more one at a time."""
    import json

    from rdflib import Graph

    from fmar.access.principal import SYSTEM, Principal
    from fmar.arm.bulk import summary
    from fmar.arm.generator import generate
    from fmar.bootstrap import load_reference
    from fmar.config import Settings
    from fmar.errors import FmarError
    from fmar.registry import build

    with tempfile.TemporaryDirectory() as tmp:
        registry = build(Settings(data_dir=Path(tmp), base_iri="http://127.0.0.1:8000/"))
        load_reference(registry.write, registry.iris, registry.settings)
        demo = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text(encoding="utf-8"))
        org, _ = registry.organisations.create(SYSTEM, demo["organisations"]["fsp"])
        fsp = Principal(role="fsp", subject="bench", org=org, org_admin=True, asset_manager=True)
        admin = Principal(role="admin", subject="bench-admin")
        shape = Graph()
        shape += registry.catalogue.categories["BESS"]
        turtle = shape.serialize(format="turtle") + "\n@prefix sh: <http://www.w3.org/ns/shacl#> .\n" \
            "@prefix fmar: <https://w3id.org/fmar#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n" + EXTRA[kind]
        if EXTRA[kind]:
            registry.categories.publish(admin, "BESS", turtle, breaking=True)
        delegated = sorted(str(s) for s in getattr(registry.catalogue.validator, "delegated", {}))
        wanted = (r for r in generate(50 * (count + single), operated_by=str(org)) if r.get("assetCategory") == "BESS")
        records = list(itertools.islice(wanted, count + single))
        bulk, ones = records[:count], records[count:count + single]
        started = time.perf_counter()
        counts = summary(registry.registrations.run(fsp, ((i, r, None) for i, r in enumerate(bulk)), batch))
        bulk_seconds = time.perf_counter() - started
        started = time.perf_counter()
        refused = 0
        for record in ones:
            try:
                registry.registrations.register(fsp, record)
            except FmarError:
                refused += 1
        single_seconds = time.perf_counter() - started
        registry.close()
    return {"kind": kind, "delegated": delegated, "bulk": counts, "bulk_per_s": round(len(bulk) / bulk_seconds, 1),
            "single_ms": round(1000 * single_seconds / max(len(ones), 1), 2), "single_refused": refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4000, help="generated records (BESS ones are kept) for bulk")
    parser.add_argument("--single", type=int, default=200, help="records registered one at a time")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    print(describe())  # noqa: T201
    results = [measure(kind, args.count, args.single, args.batch) for kind in EXTRA]
    base = results[0]
    for r in results:
        print(f"{r['kind']:>9}: bulk {r['bulk_per_s']:>8} records/s ({r['bulk_per_s'] / base['bulk_per_s']:.2f}× shipped), "  # noqa: T201
              f"single {r['single_ms']:>7} ms ({r['single_ms'] / base['single_ms']:.2f}× shipped), bulk {r['bulk']}, "
              f"single refused {r['single_refused']}, delegated: {r['delegated'] or 'none'}")


if __name__ == "__main__":
    main()
