"""Holding up under hostile load: each attack found by the adversarial run of issue #11, tried again.

- expensive SPARQL queries past their time limit are stopped and their workers freed (a real uvicorn, a store
  on disk whose queries run in worker processes), and anonymous callers spend a budget (429, Retry-After);
- a view page costs its own rows (no JSON-LD framing of the whole page per item), with a page limit;
- JSON nested past the limit is a 400 on every JSON route, and one rejected record in a bulk upload;
- a duplicate names the registered asset only to those who may read it;
- a bulk upload can stream its report batch by batch, so a client cut off midway knows what is stored;
- /health answers during a long category publication and a large bulk import.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import XSD

import fmar.jsonld
from fmar.access.principal import SYSTEM
from fmar.api.app import create_app
from fmar.arm.generator import generate
from fmar.bootstrap import load_reference
from fmar.config import Settings
from fmar.iris import FMAR
from fmar.registry import Registry, build
from fmar.validation.shacl import SH
from tests.api.conftest import World
from tests.conftest import asset_body, mpan, org_body
from tests.serving import uvicorn_server

#: A query whose one row needs every row of a cartesian product of the store with itself, thrice.
PRODUCT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
WORKERS = 2


@pytest.fixture(scope="module")
def on_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, str]]:
    """A registry on disk (its SPARQL queries in worker processes), served by a real uvicorn."""
    data = tmp_path_factory.mktemp("hostile")
    registry = build(Settings(data_dir=data, base_iri="http://127.0.0.1:8000/", sparql_time_limit=1.5,
                              sparql_workers=WORKERS, sparql_anonymous_queries=WORKERS * 4,
                              sparql_anonymous_seconds=10**6))
    load_reference(registry.write, registry.iris, registry.settings)
    with uvicorn_server(create_app(registry)) as base:
        yield registry, base
    registry.close()


def _concurrently(count: int, call: Any) -> list[Any]:
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_queries_past_the_time_limit_are_stopped_and_their_workers_freed(on_disk: tuple[Registry, str]) -> None:
    """More expensive queries than there are workers, then cheap ones: answered, promptly."""
    registry, base = on_disk
    admin = {"Authorization": f"Bearer {registry.tokens.issue(role='admin', subject='mf')}"}
    answers = _concurrently(WORKERS * 2, lambda: httpx.get(f"{base}/sparql", params={"query": PRODUCT}, headers=admin,
                                                           timeout=60))
    assert [a.status_code for a in answers] == [503] * (WORKERS * 2), [a.text for a in answers]
    assert all("time limit" in a.json()["detail"] for a in answers)
    cheap = httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=10)  # waits for a worker at most this long
    assert cheap.status_code == 200 and cheap.json() == {"head": {}, "boolean": True}
    # The stopped queries hold nothing: every worker is free again for queries that need them all at once.
    many = _concurrently(WORKERS, lambda: httpx.get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"},
                                                    headers=admin, timeout=10))
    assert [a.status_code for a in many] == [200] * WORKERS


def test_a_query_in_a_worker_sees_every_write_made_before_it(on_disk: tuple[Registry, str]) -> None:
    """Workers hold the store opened read-only; each opens it again when a write it must see was made since."""
    registry, base = on_disk
    admin = {"Authorization": f"Bearer {registry.tokens.issue(role='admin', subject='mf')}"}
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="81818181"))
    for n in range(3):
        asset, _ = registry.registrations.register(SYSTEM, asset_body(str(org), importMPAN=mpan(f"10000009{n:04d}"),
                                                                      serialNumber=f"FRESH-{n}"))
        for headers in (admin, {}):  # every graph (the audit trail too), and the public ones
            ask = httpx.get(f"{base}/sparql", params={"query": f"ASK {{ <{asset}> ?p ?o }}"}, headers=headers,
                            timeout=10)
            assert ask.status_code == 200 and ask.json()["boolean"] is True, (n, headers, ask.text)


def test_anonymous_callers_cannot_fill_the_pool(on_disk: tuple[Registry, str]) -> None:
    _, base = on_disk
    answers = _concurrently(WORKERS * 2, lambda: httpx.get(f"{base}/sparql", params={"query": PRODUCT}, timeout=60))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) == {429, 503} and statuses.count(503) <= WORKERS - 1, statuses  # a worker stays free
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers if a.status_code == 429)
    assert httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=10).status_code == 200


@pytest.fixture
def frugal(tmp_path: Path) -> Iterator[tuple[Registry, str]]:
    """A registry whose anonymous callers may run one query at a time and one second of query time a minute."""
    registry = build(Settings(data_dir=tmp_path, base_iri="http://127.0.0.1:8000/", sparql_time_limit=1.0,
                              sparql_workers=2, sparql_anonymous_queries=1, sparql_anonymous_seconds=1.0,
                              sparql_anonymous_window=60))
    load_reference(registry.write, registry.iris, registry.settings)
    with uvicorn_server(create_app(registry)) as base:
        yield registry, base
    registry.close()


def test_anonymous_callers_spend_a_budget_before_they_can_fill_the_pool(frugal: tuple[Registry, str]) -> None:
    registry, base = frugal
    answers = _concurrently(3, lambda: httpx.get(f"{base}/sparql", params={"query": PRODUCT}, timeout=60))
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) >= 2 and sorted(a.status_code for a in answers)[0] == 429, [a.status_code for a in answers]
    problem = refused[0].json()
    assert refused[0].headers["content-type"] == "application/problem+json"
    assert int(refused[0].headers["Retry-After"]) >= 1 and problem["status"] == 429
    # Its query time spent (the one query that ran took the whole second), the client waits out the window…
    spent = httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, timeout=10)
    assert spent.status_code == 429 and int(spent.headers["Retry-After"]) > 1
    # …while a caller with a token is not held up by it.
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="44556677", roles=["REGULATOR"]))
    token = registry.tokens.issue(role="regulator", subject="ofgem", org=str(org))
    assert httpx.get(f"{base}/sparql", params={"query": "ASK {}"}, headers={"Authorization": f"Bearer {token}"},
                     timeout=10).status_code == 200


# ---------------------------------------------------------------------------------------------- views


@pytest.fixture
def fleet(world: World) -> str:
    org = world.org("FSP")
    rows = [(n, body, None) for n, body in enumerate(generate(60, org, seed=21))]
    assert all(r.status == "created" for r in world.registry.registrations.run(SYSTEM, rows))
    return org


def test_a_json_ld_view_page_costs_its_rows_not_a_framing_of_the_page_per_item(world: World, fleet: str,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    framed: list[object] = []
    original = fmar.jsonld.jsonld.frame
    monkeypatch.setattr(fmar.jsonld.jsonld, "frame", lambda *args, **kwargs: framed.append(1) or original(*args, **kwargs))
    response = world.client.get("/views/assets", params={"limit": 60})
    assert response.status_code == 200 and len(response.json()["@graph"]) == 60
    assert framed == []  # each row is compacted on its own (before: the whole page framed once per item)


@pytest.mark.parametrize("media", ["application/ld+json", "text/csv", "text/turtle"])
def test_the_view_page_limit_holds_in_every_format(world: World, fleet: str, media: str) -> None:
    too_many = world.client.get("/views/assets", params={"limit": 1000}, headers={"Accept": media})
    assert too_many.status_code == 400 and too_many.headers["content-type"] == "application/problem+json"
    assert world.client.get("/views/assets", params={"limit": 500}, headers={"Accept": media}).status_code == 200
    assert world.client.get("/assets", params={"limit": 1000}, headers=world.auth("admin")).status_code == 400


# ---------------------------------------------------------------------------------------------- nesting


def _deep(levels: int) -> str:
    return '{"legalName": ' + '{"a": ' * levels + "1" + "}" * levels + "}"


@pytest.mark.parametrize("levels", [33, 1000, 100_000])
def test_json_nested_past_the_limit_is_a_400_on_every_json_route(world: World, levels: int) -> None:
    org = world.org("FSP")
    asset = world.asset(org)
    body = _deep(levels).encode()
    json_type = {"Content-Type": "application/json"}
    calls = [("POST", "/organisations", world.auth("applicant")), ("POST", "/organisations", world.auth("admin")),
             ("POST", "/assets", world.auth("fsp", org)), ("POST", f"/organisations/{org}/users", world.auth("admin")),
             ("PATCH", f"/organisations/{org}", {**world.auth("admin"), "If-Match": "*"}),
             ("PATCH", f"/assets/{asset}", {**world.auth("admin"), "If-Match": "*"}),
             ("POST", f"/assets/{asset}/validation", world.auth("admin"))]
    before = world.snapshot()
    for method, path, headers in calls:
        response = world.client.request(method, path, content=body, headers={**headers, **json_type})
        assert response.status_code == 400, (method, path, response.status_code, response.text[:200])
        assert response.headers["content-type"] == "application/problem+json"
        assert "nested" in response.json()["detail"]
    assert world.snapshot() == before


def test_a_deeply_nested_line_in_a_bulk_upload_is_one_rejected_record(world: World) -> None:
    org = world.org("FSP")
    good = list(generate(2, org, seed=31))
    lines = [json.dumps(good[0]), _deep(1000), json.dumps(good[1])]
    response = world.client.post("/assets/bulk", content="\n".join(lines).encode(),
                                 headers={**world.auth("fsp", org), "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["records"]] == ["created", "rejected", "created"]
    assert "nested" in response.json()["records"][1]["violations"][0]["message"]


# ---------------------------------------------------------------------------------------------- duplicates


def test_a_duplicate_is_named_only_to_those_who_may_read_it(world: World) -> None:
    owner, stranger = world.org("FSP"), world.org("FSP")
    body = asset_body(owner, importMPAN=mpan("100000077701"), serialNumber="DUP-1")
    created = world.client.post("/assets", json=body, headers=world.auth("fsp", owner))
    assert created.status_code == 201
    existing = created.json()["identifier"]
    again = {**body}
    for role, org, named in (("fsp", owner, True), ("admin", None, True), ("fsp", stranger, False)):
        if role == "fsp":
            again["operatedBy"] = org
        response = world.client.post("/assets", json=again, headers=world.auth(role, org))
        problem = response.json()
        assert response.status_code == 409 and problem["type"].endswith("/duplicate"), response.text
        assert ("existingId" in problem) is named and (existing in json.dumps(problem)) is named, (role, problem)
    # In bulk, the same: the stranger's report line says duplicate, with no ID.
    again["operatedBy"] = stranger
    report = world.client.post("/assets/bulk", content=json.dumps(again).encode(),
                               headers={**world.auth("fsp", stranger), "Content-Type": "application/x-ndjson"}).json()
    [line] = report["records"]
    assert line["status"] == "duplicate" and "id" not in line and existing not in json.dumps(line)


# ---------------------------------------------------------------------------------------------- bulk stream


@pytest.fixture
def batches_of_fifty(tmp_path: Path) -> Iterator[tuple[Registry, str]]:
    registry = build(Settings(data_dir=tmp_path, base_iri="http://127.0.0.1:8000/", bulk_batch_size=50))
    load_reference(registry.write, registry.iris, registry.settings)
    with uvicorn_server(create_app(registry)) as base:
        yield registry, base
    registry.close()


def test_a_streamed_bulk_report_tells_a_client_cut_off_midway_what_is_stored(
        batches_of_fifty: tuple[Registry, str]) -> None:
    registry, base = batches_of_fifty
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="55667788"))
    upload = "\n".join(json.dumps(b) for b in generate(3000, str(org), seed=41)).encode()
    headers = {"Authorization": f"Bearer {registry.tokens.issue(role='fsp', subject='bulk', org=str(org))}",
               "Content-Type": "application/x-ndjson", "Accept": "application/x-ndjson"}
    seen: list[dict[str, Any]] = []
    with httpx.Client(timeout=60) as client, client.stream("POST", f"{base}/assets/bulk", content=upload,
                                                           headers=headers) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
        for line in response.iter_lines():
            seen.append(json.loads(line))
            if len(seen) == 50:  # the first batch is stored: the client goes away
                break
    assert [r["index"] for r in seen] == list(range(50)) and all(r["status"] == "created" for r in seen)
    time.sleep(1)  # let the server notice, and finish the batch it may have been storing
    stored = registry.assets.find(SYSTEM, {"operatedBy": str(org)}, limit=1).total
    for record in seen:
        assert registry.assets.get(SYSTEM, record["id"])
    assert 50 <= stored < 3000  # what the client saw is stored; the upload stopped when the client went away


def test_a_streamed_bulk_report_ends_with_its_summary(world: World) -> None:
    org = world.org("FSP")
    lines = [json.dumps(b) for b in generate(3, org, seed=43)] + ["{broken"]
    response = world.client.post("/assets/bulk", content="\n".join(lines).encode(),
                                 headers={**world.auth("fsp", org), "Content-Type": "application/x-ndjson",
                                          "Accept": "application/x-ndjson"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-ndjson")
    *records, last = [json.loads(line) for line in response.text.splitlines()]
    assert [r["status"] for r in records] == ["created"] * 3 + ["rejected"]
    assert last == {"summary": {"created": 3, "rejected": 1, "duplicate": 0, "total": 4}}


# ---------------------------------------------------------------------------------------------- a free event loop


def _health_while(base: str, busy: threading.Thread) -> list[float]:
    """How long /health took, asked again and again while ``busy`` runs."""
    took = []
    busy.start()
    while busy.is_alive():
        started = time.monotonic()
        assert httpx.get(f"{base}/health", timeout=2).status_code == 200  # promptly: a stalled server times out
        took.append(time.monotonic() - started)
        time.sleep(0.05)
    busy.join()
    return took


def _publishable(registry: Registry, category: str) -> str:
    """The category's shape with one more constraint, one its assets all meet."""
    graph = Graph().parse(data=registry.categories.get(category).serialize(format="turtle"), format="turtle")
    prop = BNode()
    graph.add((URIRef(f"https://w3id.org/fmar/shapes/category/{category}"), SH.property, prop))
    graph.add((prop, SH.path, FMAR.ratedCapacity))
    graph.add((prop, SH.maxInclusive, Literal("100000", datatype=XSD.decimal)))
    return graph.serialize(format="turtle")


def test_health_answers_during_a_long_publication_and_a_large_bulk_import(tmp_path: Path) -> None:
    registry = build(Settings(data_dir=tmp_path, base_iri="http://127.0.0.1:8000/"))
    load_reference(registry.write, registry.iris, registry.settings)
    org, _ = registry.organisations.create(SYSTEM, org_body(companyNumber="66778899"))
    fleet = list(generate(2000, str(org), seed=51))
    assert all(r.status == "created" for r in registry.registrations.run(SYSTEM, [(n, b, None) for n, b in
                                                                                   enumerate(fleet)]))
    chargers = sum(1 for b in fleet if b["assetCategory"] == "EV_CHARGER")
    assert chargers > 500  # more than a publication checks in its request
    admin = {"Authorization": f"Bearer {registry.tokens.issue(role='admin', subject='mf')}"}
    fsp = {"Authorization": f"Bearer {registry.tokens.issue(role='fsp', subject='bulk', org=str(org))}"}
    with uvicorn_server(create_app(registry)) as base:
        answers: dict[str, httpx.Response] = {}

        def publish() -> None:
            answers["publish"] = httpx.put(f"{base}/categories/EV_CHARGER", timeout=120,
                                           content=_publishable(registry, "EV_CHARGER").encode(),
                                           headers={**admin, "Content-Type": "text/turtle"})
            where = answers["publish"].headers.get("Location")
            while where:
                answers["status"] = httpx.get(f"{base}{where}", headers=admin, timeout=10)
                if answers["status"].json()["state"] != "running":
                    break
                time.sleep(0.1)

        during_publish = _health_while(base, threading.Thread(target=publish))
        more = "\n".join(json.dumps(b) for b in generate(3000, str(org), seed=52)).encode()

        def bulk() -> None:
            answers["bulk"] = httpx.post(f"{base}/assets/bulk", content=more, timeout=300,
                                         headers={**fsp, "Content-Type": "application/x-ndjson"})

        during_bulk = _health_while(base, threading.Thread(target=bulk))
    registry.close()
    assert answers["publish"].status_code == 202, answers["publish"].text  # checked in the background
    final = answers["status"].json()
    assert final["state"] == "done" and final["result"]["version"] == 2, final
    assert final["done"] == final["total"] == chargers
    assert answers["bulk"].status_code == 200 and answers["bulk"].json()["summary"]["created"] == 3000
    assert during_publish and during_bulk  # asked while each ran, every answer within the client's timeout
