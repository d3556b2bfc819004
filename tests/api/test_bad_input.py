"""Bad input gets a clear RFC 9457 answer and changes nothing: neither the records nor the audit trail."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.api.conftest import World
from tests.conftest import org_body
from tests.local_http import local_server


@pytest.fixture
def context_server() -> Iterator[tuple[str, list[tuple[str, dict[str, str]]]]]:
    """A JSON-LD context on 127.0.0.1 that records every request made to it."""
    body = json.dumps({"@context": {"legalName": "http://evil.example/name"}}).encode()
    with local_server(lambda path, headers: (200, body, "application/ld+json")) as (base, seen):
        yield f"{base}/context.jsonld", seen


def _refused(world: World, response: Any, status: int, before: set[tuple[object, ...]]) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["type"].startswith("https://w3id.org/fmar/problems/")
    assert problem["title"] and problem["detail"]
    assert world.snapshot() == before, "a refused request changed the store"
    return problem


def _post(world: World, body: Any = None, content: bytes | None = None, **headers: str) -> Any:
    if content is None:
        content = json.dumps(body).encode()
    return world.client.post("/organisations", content=content,
                             headers={**world.auth("admin"), "Content-Type": "application/json", **headers})


@pytest.mark.parametrize("content", [b"{", b"", b"\xff\xfe", b'{"legalName": "A",}',
                                     b'{"legalName": "Lone \\ud800 surrogate Ltd"}'])
def test_malformed_json_is_400(world: World, content: bytes) -> None:
    before = world.snapshot()
    _refused(world, _post(world, content=content), 400, before)


@pytest.mark.parametrize(("body", "needle"), [
    ([org_body()], "JSON object"),
    (org_body(colour="blue"), "colour"),
    (org_body(registeredAddress={"addressLine1": "x", "planet": "Mars"}), "planet"),
    (org_body(type="User"), "type"),
    (org_body(identifier="x"), "identifier"),
    (org_body(roles=["FSP%zz"]), "neither a code nor an IRI"),
    (org_body(status="Active"), "status"),
    ({"@context": {"legalName": "http://evil.example/name"}, **org_body()}, "inline"),
    ({"@context": "https://schema.org/", **org_body()}, "not the FMAR context"),
    (org_body(primaryContact={"id": "http://testserver/organisations/00000000-0000-4000-8000-000000000000",
                              "givenName": "A", "familyName": "B", "email": "a@b.example"}), "nested"),
])
def test_unprocessable_submissions_are_422(world: World, body: Any, needle: str) -> None:
    before = world.snapshot()
    problem = _refused(world, _post(world, body), 422, before)
    assert needle in json.dumps(problem)


def test_a_remote_context_is_refused_and_never_fetched(world: World, context_server: tuple[str, list[object]]) -> None:
    url, hits = context_server
    before = world.snapshot()
    problem = _refused(world, _post(world, {"@context": url, **org_body()}), 422, before)
    assert url in problem["detail"]
    patch = world.client.patch(f"/organisations/{world.org('FSP')}", json={"@context": [url], "tradingName": "x"},
                               headers={**world.auth("admin"), "If-Match": "*"})
    assert patch.status_code == 422
    time.sleep(0.1)
    assert hits == []


@pytest.mark.parametrize(("override", "path"), [
    ({"legalName": 42}, "legalName"),
    ({"roles": ["WIZARD"]}, "roles"),
    ({"organisationType": "XYZ"}, "organisationType"),
    ({"companyNumber": "12"}, "companyNumber"),
    ({"vatNumber": "GB123456789"}, "vatNumber"),
    ({"primaryContact": {"givenName": "A", "familyName": "B", "email": "nope"}}, "primaryContact.email"),
])
def test_wrong_types_and_unknown_codes_name_the_term(world: World, override: dict[str, Any], path: str) -> None:
    before = world.snapshot()
    problem = _refused(world, _post(world, org_body(**override)), 422, before)
    assert problem["type"].endswith("validation-failed")
    assert path in {e["path"] for e in problem["errors"]}
    for entry in problem["errors"]:
        assert set(entry) >= {"path", "value", "message", "constraint", "severity"}


def test_duplicate_company_number_is_409_naming_the_existing_id(world: World) -> None:
    first = _post(world, org_body()).json()
    before = world.snapshot()
    problem = _refused(world, _post(world, org_body(legalName="Copycat Ltd")), 409, before)
    assert problem["existingId"] == first["identifier"] and first["identifier"] in problem["detail"]


def test_oversized_bodies_are_413(world: World) -> None:
    before = world.snapshot()
    limit = world.registry.settings.max_body_bytes
    _refused(world, _post(world, content=b" " * (limit + 1)), 413, before)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = world.client.post("/organisations", content=chunks(),
                                 headers={**world.auth("admin"), "Content-Type": "application/json"})
    _refused(world, response, 413, before)


def test_other_media_types_are_415(world: World) -> None:
    before = world.snapshot()
    problem = _refused(world, _post(world, org_body(), **{"Content-Type": "text/plain"}), 415, before)
    assert "application/json" in problem["accepted"]
    patch = world.client.patch(f"/organisations/{world.org('FSP')}", content=b"<x/>",
                               headers={**world.auth("admin"), "If-Match": "*", "Content-Type": "application/xml"})
    assert patch.status_code == 415


def _foreign_token(world: World, **claims: Any) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    return jwt.encode({"iss": "fmar", "aud": "fmar", "sub": "x", "role": "admin", "iat": now, "exp": now + 60, **claims},
                      key, algorithm="ES256")


def _own_token(world: World, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "fmar", "aud": "fmar", "sub": "x", "role": "admin", "iat": now, "exp": now + 60, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, world.registry.tokens.key, algorithm="ES256",
                      headers={"kid": world.registry.tokens.kid})


@pytest.mark.parametrize("make", [
    pytest.param(lambda w: _foreign_token(w), id="forged-signature"),
    pytest.param(lambda w: _own_token(w, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), id="expired"),
    pytest.param(lambda w: _own_token(w, aud="someone-else"), id="wrong-audience"),
    pytest.param(lambda w: _own_token(w, iss="someone-else"), id="wrong-issuer"),
    pytest.param(lambda w: _own_token(w, role="root"), id="unknown-role"),
    pytest.param(lambda w: _own_token(w, role=None), id="no-role"),
    pytest.param(lambda w: _own_token(w, role="fsp"), id="fsp-without-org"),
    pytest.param(lambda w: _own_token(w, role="fsp", org="00000000-0000-4000-8000-000000000000"), id="unregistered-org"),
    pytest.param(lambda w: jwt.encode({"sub": "x", "role": "admin"}, None, algorithm="none"), id="alg-none"),
    pytest.param(lambda w: "not.a.token", id="garbage"),
])
def test_bad_tokens_are_401_with_www_authenticate(world: World, make: Any) -> None:
    before = world.snapshot()
    response = world.client.post("/organisations", json=org_body(), headers={"Authorization": f"Bearer {make(world)}"})
    _refused(world, response, 401, before)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("header", ["Basic YWRtaW46YWRtaW4=", "Bearer", "Token abc"])
def test_other_authorization_schemes_are_401(world: World, header: str) -> None:
    before = world.snapshot()
    _refused(world, world.client.post("/organisations", json=org_body(), headers={"Authorization": header}), 401, before)


def test_fsp_token_for_an_organisation_without_that_role_is_403(world: World) -> None:
    supplier = world.org("SUPPLIER")
    before = world.snapshot()
    _refused(world, world.client.get(f"/organisations/{supplier}", headers=world.auth("fsp", supplier)), 403, before)


def test_unknown_records_and_routes_are_404_problems(world: World) -> None:
    before = world.snapshot()
    headers = world.auth("admin")
    _refused(world, world.client.get("/organisations/00000000-0000-4000-8000-000000000000", headers=headers), 404, before)
    _refused(world, world.client.get("/organisations/not-an-id", headers=headers), 404, before)
    _refused(world, world.client.get("/users/00000000-0000-4000-8000-000000000000", headers=headers), 404, before)
    _refused(world, world.client.get("/nowhere"), 404, before)


def test_bad_parameters_and_methods_are_problems(world: World) -> None:
    before = world.snapshot()
    _refused(world, world.client.get("/organisations?limit=0", headers=world.auth("admin")), 400, before)
    _refused(world, world.client.delete("/organisations", headers=world.auth("admin")), 405, before)


def test_command_bodies_are_checked(world: World) -> None:
    org = world.org("FSP")
    before = world.snapshot()
    for body in ({"status": "Suspended", "reason": "x", "force": True}, {"status": ["Suspended"]}):
        _refused(world, world.client.post(f"/organisations/{org}/status", json=body, headers=world.auth("admin")),
                 422, before)
    _refused(world, world.client.post(f"/organisations/{org}/status", content=b"[1]", headers={
        **world.auth("admin"), "Content-Type": "application/json"}), 422, before)


def test_request_ids_are_echoed(world: World) -> None:
    response = world.client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"
    assert world.client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"] != \
        "bad id with spaces"
