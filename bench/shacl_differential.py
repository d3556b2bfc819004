"""The compiled SHACL engine against pyshacl on generated shapes and data, for longer than the test suite runs it.

The generator is the differential test's (``tests/validation/test_differential.py``); this runs it for N
examples (default 5,000) without stopping at the first disagreement, and prints how many examples ran, how
many disagreed, what each engine's validations cost, and the disagreements by constraint component (the
component of each result one engine gave and the other did not, or the error the compiled engine raised),
each with its smallest example.

    .venv/bin/python bench/shacl_differential.py --examples 5000
    .venv/bin/python bench/shacl_differential.py --examples 500 --features=-nodeKind,-uniqueLang --seed 7
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the repository, for the tests' generator
from machine import describe  # noqa: E402
from tests.validation.test_differential import Case, Key, Outcome, cases, compare, enabled_features  # noqa: E402


def label(key: Key) -> str:
    """Where a differing result comes from: its component, on a node shape itself when it has no path."""
    return f"{key[2]}{' (node shape)' if key[1] == '' else ''}"


def say(text: str = "") -> None:
    print(text, flush=True)  # noqa: T201


def _anonymous(error: str) -> str:
    """An error without the names of the example's shapes and nodes, so that alike errors count together."""
    error = error.removeprefix("the compiled engine raised ")
    return re.sub(r"http://example\.org/\S+|\b[A-Za-z]?[0-9a-f]{20,}\b|rdflib\.term\.BNode\('[^']*'\)", "…", error)[:90]


def run(examples: int, features: frozenset[str], seed: int) -> list[Outcome]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    outcomes: list[Outcome] = []

    @hypothesis_seed(seed)
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(features))
    def one(case: Case) -> None:
        outcomes.append(compare(case))
        if len(outcomes) % 500 == 0:
            judged = [o for o in outcomes if o.reference_error is None]
            say(f"  {len(outcomes)} examples, {sum(not o.agrees for o in judged)} disagreeing")

    one()
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--features", default="", help="as FMAR_DIFFERENTIAL_FEATURES: -a,-b drops; a,b keeps only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=3, help="how many smallest examples to print in full")
    args = parser.parse_args()
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)  # ill-typed literals are meant: no tracebacks for them
    warnings.filterwarnings("ignore", message="Parsing weird boolean")
    features = enabled_features(args.features)
    say(describe())
    say(f"features on ({len(features)}): {', '.join(sorted(features))}")
    started = time.perf_counter()
    outcomes = run(args.examples, features, args.seed)
    elapsed = time.perf_counter() - started
    unjudged = [o for o in outcomes if o.reference_error is not None]
    outcomes = [o for o in outcomes if o.reference_error is None]
    disagreeing = [o for o in outcomes if not o.agrees]
    reference = [o.seconds[0] * 1000 for o in outcomes]
    compiled = [o.seconds[1] * 1000 for o in outcomes]
    ran = len(outcomes) + len(unjudged)
    say()
    say(f"{ran} examples in {elapsed:.1f} s ({ran / elapsed:.1f}/s); "
          f"{len(unjudged)} pyshacl could not validate (left out); of the {len(outcomes)} compared, "
          f"{len(disagreeing)} disagreeing ({100 * len(disagreeing) / max(len(outcomes), 1):.1f}%)")
    for error, count in Counter(_anonymous(o.reference_error or "") for o in unjudged).most_common(5):
        say(f"  pyshacl: {count} × {error}")
    if outcomes:
        say(f"an example: pyshacl median {statistics.median(reference):.1f} ms (total {sum(reference) / 1000:.1f} s), "
              f"compiled engine median {statistics.median(compiled):.2f} ms (total {sum(compiled) / 1000:.1f} s)")
    used = Counter(f for o in outcomes for f in o.case.used)
    against = Counter(f for o in disagreeing for f in o.case.used)
    say("\nfeature: examples using it, of which disagreeing")
    for feature in sorted(features):
        say(f"  {feature:18} {used[feature]:6} {against[feature]:6}")
    by_label: dict[str, list[Outcome]] = {}
    for outcome in disagreeing:
        labels = {"raised: " + _anonymous(outcome.error)} if outcome.error else set()
        labels |= {f"pyshacl only: {label(k)}" for k in outcome.missing} | {f"compiled only: {label(k)}" for k in outcome.extra}
        for name in labels:
            by_label.setdefault(name, []).append(outcome)
    say("\ndisagreements by component: examples")
    for name, found in sorted(by_label.items(), key=lambda item: -len(item[1])):
        say(f"  {len(found):6}  {name}")
    for name, found in sorted(by_label.items(), key=lambda item: -len(item[1]))[:args.show]:
        smallest = min(found, key=lambda o: len(repr(o.case)))
        say(f"\n--- {name}: the smallest of {len(found)}\n{smallest}{smallest.case!r}")


if __name__ == "__main__":
    main()
