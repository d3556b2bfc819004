"""The attacks of issue #11, tried against a real `fmar serve` holding 2,000 assets: this code, or an earlier one
(`PYTHONPATH=../old/src`), to see the difference. Not a benchmark of speed: what each attack gets.

    .venv/bin/python bench/hostile_load.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe  # noqa: E402
from server import FMAR, fmar_serve, free_port, seed  # noqa: E402

PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def token(data: Path, *args: str) -> dict[str, str]:
    issued = subprocess.run([FMAR, "token", "--data-dir", str(data), *args], check=True, capture_output=True, text=True)
    return {"Authorization": f"Bearer {issued.stdout.strip()}"}


def main() -> None:
    from fmar.arm.generator import generate

    os.environ["FMAR_SPARQL_TIME_LIMIT"] = "2"
    with tempfile.TemporaryDirectory(prefix="fmar-hostile-") as tmp:
        data = Path(tmp) / "data"
        port = free_port()
        iri = f"http://127.0.0.1:{port}/"
        subprocess.run([FMAR, "init", "--data-dir", str(data), "--base-iri", iri], check=True, capture_output=True)
        seed(data, iri, 2000)
        admin = token(data, "--role", "admin")
        print(f"machine: {describe()}")  # noqa: T201
        with fmar_serve(data, port) as base:
            def call(method: str, path: str, **kwargs: Any) -> tuple[httpx.Response, float]:
                started = time.perf_counter()  # a fresh connection a request: an error may close a kept-alive one
                response = httpx.request(method, base + path, timeout=300, **kwargs)
                return response, time.perf_counter() - started

            deep = '{"legalName": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"
            response, _ = call("POST", "/organisations", content=deep,
                               headers={**token(data, "--role", "applicant"), "Content-Type": "application/json"})
            print(f"JSON nested 1,000 deep, as an applicant: {response.status_code} {response.headers['content-type']}")  # noqa: T201
            orgs = []
            for n in range(2):
                created, _ = call("POST", "/organisations", headers=admin, json={
                    "legalName": f"Dup {n} Ltd", "companyNumber": f"9{n}345678", "organisationType": "LTD", "roles": ["FSP"],
                    "registeredAddress": {"addressLine1": "1 Road", "postcode": "CB1 1AA"},
                    "primaryContact": {"givenName": "A", "familyName": "B", "email": f"a{n}@x.example"}})
                orgs.append(created.json()["identifier"])
            body = next(generate(1, seed=777))
            first, _ = call("POST", "/assets", json=body, headers=token(data, "--role", "fsp", "--org", orgs[0]))
            response, _ = call("POST", "/assets", json=body, headers=token(data, "--role", "fsp", "--org", orgs[1]))
            print(f"the same MPAN and serial by another FSP: {response.status_code}, names the registered asset: "  # noqa: T201
                  f"{first.json()['identifier'] in response.text}")
            for size, media in ((10, "application/ld+json"), (100, "application/ld+json"), (1000, "text/csv")):
                response, seconds = call("GET", f"/views/assets?limit={size}", headers={"Accept": media})
                print(f"GET /views/assets?limit={size} as {media}: {response.status_code} in {seconds:.2f} s")  # noqa: T201
            statuses: list[int] = []
            attack: Callable[[], None] = lambda: statuses.append(call("GET", "/sparql", params={"query": PRODUCT})[0].status_code)  # noqa: E731
            attackers = [threading.Thread(target=attack) for _ in range(6)]
            for thread in attackers:
                thread.start()
            for thread in attackers:
                thread.join()
            print(f"six anonymous cartesian products (time limit 2 s): {sorted(statuses)}")  # noqa: T201
            for label in ("at once", "5 s later"):
                response, seconds = call("GET", "/sparql", params={"query": "ASK {}"})
                print(f"then ASK {{}}, {label}: {response.status_code} in {seconds:.2f} s")  # noqa: T201
                time.sleep(5)
            lines = "\n".join(json.dumps(b) for b in generate(5, orgs[0], seed=778)).encode()
            response, _ = call("POST", "/assets/bulk", content=lines, headers={
                **token(data, "--role", "fsp", "--org", orgs[0]), "Content-Type": "application/x-ndjson",
                "Accept": "application/x-ndjson"})
            print(f"a bulk upload asking for a streamed report: {response.headers['content-type']}, "  # noqa: T201
                  f"{len(response.text.splitlines())} line(s)")


if __name__ == "__main__":
    main()
