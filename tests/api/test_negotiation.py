"""RFC 9110 negotiation over HTTP: an explicit ``q=0`` refuses a type even beside ``*/*``, and lists and
histories answer 406 to a caller that accepts none of their media types."""

from __future__ import annotations

import pytest

from tests.api.conftest import World


def test_q_zero_refuses_a_type_even_beside_a_wildcard(world: World) -> None:
    fsp = world.org("FSP")
    headers = world.auth("fsp", fsp)
    answer = world.client.get(f"/organisations/{fsp}", headers={**headers, "Accept": "application/ld+json;q=0, */*"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    refused = world.client.get(f"/organisations/{fsp}", headers={
        **headers, "Accept": "application/ld+json;q=0, application/json;q=0, text/turtle;q=0, "
                             "application/n-triples;q=0, application/rdf+xml;q=0, */*"})
    assert refused.status_code == 406 and refused.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("path", ["/assets", "/organisations", "/categories", "/audit"])
def test_a_list_answers_json_json_ld_or_406(world: World, path: str) -> None:
    headers = world.auth("admin")
    assert world.client.get(path, headers={**headers, "Accept": "application/json"}).status_code == 200
    assert world.client.get(path, headers={**headers, "Accept": "application/ld+json"}).status_code == 200
    refused = world.client.get(path, headers={**headers, "Accept": "text/turtle"})
    assert refused.status_code == 406, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert world.client.get(path, headers={**headers, "Accept": "application/*;q=0, */*"}).status_code == 406


def test_a_history_answers_json_json_ld_or_406(world: World) -> None:
    fsp = world.org("FSP")
    headers = world.auth("admin")
    for path in (f"/organisations/{fsp}/history", "/categories/BESS/history"):
        plain = world.client.get(path, headers=headers)
        assert plain.status_code == 200 and plain.headers["content-type"].startswith("application/json")
        linked = world.client.get(path, headers={**headers, "Accept": "application/ld+json"})
        assert linked.status_code == 200 and linked.headers["content-type"].startswith("application/ld+json")
        assert linked.json() == plain.json()
        refused = world.client.get(path, headers={**headers, "Accept": "text/turtle"})
        assert refused.status_code == 406 and refused.headers["content-type"] == "application/problem+json"


def test_a_seed_category_never_republished_has_an_empty_history(world: World) -> None:
    answer = world.client.get("/categories/HEAT_PUMP/history")
    assert answer.status_code == 200, answer.text
    assert answer.json()["versions"] == []
    assert world.client.get("/categories/NO_SUCH_THING/history").status_code == 404
