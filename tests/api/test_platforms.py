"""UC-05.04 over HTTP: client credentials, the RFC 6749 client-credentials grant, delegations."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef

from fmar.iris import FMAR
from tests.api.conftest import World


@pytest.fixture
def platform(world: World) -> str:
    return world.org("PLATFORM")


def _grant(world: World, client_id: str, secret: str, basic: bool = True) -> dict[str, object]:
    if basic:
        response = world.client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    else:
        response = world.client.post("/auth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                                          "client_secret": secret})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


def test_client_secret_is_shown_once_and_stored_hashed(world: World, platform: str) -> None:
    response = world.client.post(f"/organisations/{platform}/clients", json={"name": "integration"},
                                 headers=world.auth("platform", platform))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    secret = body["client_secret"]
    assert body["client_id"] == body["identifier"]
    stored = {str(o) for _, _, o, _ in world.registry.store.quads()}
    assert secret not in stored and not any(secret in s for s in stored)
    listed = world.client.get(f"/organisations/{platform}/clients", headers=world.auth("platform", platform)).json()
    assert [c["identifier"] for c in listed["items"]] == [body["client_id"]]
    assert "client_secret" not in listed["items"][0] and "secretHash" not in str(listed)


@pytest.mark.parametrize("basic", [True, False], ids=["http-basic", "form-fields"])
def test_client_credentials_grant(world: World, platform: str, basic: bool) -> None:
    client_id, secret = world.client_credentials(platform)
    body = _grant(world, client_id, secret, basic)
    assert body["token_type"] == "Bearer" and body["expires_in"] == world.registry.settings.token_ttl_seconds
    read = world.client.get(f"/organisations/{platform}", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert read.status_code == 200


@pytest.mark.parametrize(("data", "auth", "status", "error"), [
    ({"grant_type": "password"}, "good", 400, "unsupported_grant_type"),
    ({}, "good", 400, "invalid_request"),
    ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
    ({"grant_type": "client_credentials"}, "wrong", 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_secret": "x"}, "good", 400, "invalid_request"),
])
def test_token_endpoint_errors_follow_rfc_6749(world: World, platform: str, data: dict[str, str], auth: str | None,
                                               status: int, error: str) -> None:
    client_id, secret = world.client_credentials(platform)
    credentials = {"good": (client_id, secret), "wrong": (client_id, secret + "x"), None: None}[auth]
    response = world.client.post("/auth/token", data=data, auth=credentials)
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["cache-control"] == "no-store"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Basic")


def test_token_endpoint_needs_a_form(world: World, platform: str) -> None:
    client_id, secret = world.client_credentials(platform)
    response = world.client.post("/auth/token", json={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_revoked_client_gets_no_token_and_its_tokens_stop(world: World, platform: str) -> None:
    client_id, secret = world.client_credentials(platform)
    token = _grant(world, client_id, secret)["access_token"]
    revoke = world.client.post(f"/organisations/{platform}/clients/{client_id}/revoke", json={"reason": "leaked"},
                               headers=world.auth("platform", platform))
    assert revoke.status_code == 200 and revoke.json()["status"] == "Revoked"
    again = world.client.post("/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))
    assert (again.status_code, again.json()["error"]) == (401, "invalid_client")
    assert world.client.get(f"/organisations/{platform}", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def _platform_token(world: World, platform: str) -> str:
    return str(_grant(world, *world.client_credentials(platform))["access_token"])


def test_platform_acts_on_behalf_of_an_fsp_within_its_delegation(world: World, platform: str) -> None:
    fsp = world.org("FSP")
    create = world.client.post(f"/organisations/{fsp}/delegations", headers=world.auth("fsp", fsp), json={
        "platform": platform, "scopes": ["organisation.read", "organisation.update"],
        "validFrom": "2026-01-01T00:00:00Z"})
    assert create.status_code == 201, create.text
    delegation = create.json()["identifier"]
    headers = {"Authorization": f"Bearer {_platform_token(world, platform)}", "On-Behalf-Of": fsp}
    read = world.client.get(f"/organisations/{fsp}", headers=headers)
    assert read.status_code == 200
    patch = world.client.patch(f"/organisations/{fsp}", json={"tradingName": "Via Platform", "reason": "rebrand"},
                               headers={**headers, "If-Match": read.headers["etag"]})
    assert patch.status_code == 200, patch.text
    # The audit event names the platform, the FSP it acted for, and the delegation.
    store = world.registry.store
    events = store.select("""PREFIX fmar: <https://w3id.org/fmar#>
        SELECT ?e ?agent ?behalf ?under WHERE { GRAPH ?g { ?e fmar:operation "organisation.update" ;
          fmar:agentOrganisation ?agent ; fmar:onBehalfOf ?behalf ; fmar:underDelegation ?under } }""")
    assert len(events) == 1
    iris = world.registry.iris
    assert events[0]["agent"] == iris.record("organisations", platform)
    assert events[0]["behalf"] == iris.record("organisations", fsp)
    assert events[0]["under"] == iris.record("delegations", delegation)
    assert (events[0]["e"], FMAR.reason, Literal("rebrand")) in {(e, p, o) for e, p, o, _ in store.quads()}


def test_platform_outside_its_delegation_is_refused_and_changes_nothing(world: World, platform: str) -> None:
    fsp, other_fsp, stranger = world.org("FSP"), world.org("FSP"), world.org("FSP")
    delegation = world.delegation(fsp, platform, ["organisation.read"])
    world.delegation(other_fsp, platform, ["organisation.read"], valid_from="2020-01-01T00:00:00Z",
                     valid_to="2021-01-01T00:00:00Z")
    token = _platform_token(world, platform)
    as_platform = {"Authorization": f"Bearer {token}"}
    before = world.snapshot()
    # a scope the delegation does not grant
    read = world.client.get(f"/organisations/{fsp}", headers={**as_platform, "On-Behalf-Of": fsp})
    refused = world.client.patch(f"/organisations/{fsp}", json={"tradingName": "x"},
                                 headers={**as_platform, "On-Behalf-Of": fsp, "If-Match": read.headers["etag"]})
    assert refused.status_code == 403, refused.text
    # a delegation whose period is over
    assert world.client.get(f"/organisations/{other_fsp}",
                            headers={**as_platform, "On-Behalf-Of": other_fsp}).status_code == 403
    # an FSP that never delegated
    assert world.client.get(f"/organisations/{stranger}",
                            headers={**as_platform, "On-Behalf-Of": stranger}).status_code == 403
    # acting for the FSP, but on another organisation's record
    assert world.client.get(f"/organisations/{stranger}",
                            headers={**as_platform, "On-Behalf-Of": fsp}).status_code in (403, 404)
    # On-Behalf-Of by a role other than platform
    assert world.client.get(f"/organisations/{fsp}",
                            headers={**world.auth("fsp", other_fsp), "On-Behalf-Of": fsp}).status_code == 403
    assert world.snapshot() == before
    # once revoked, the delegation stops at once
    world.client.post(f"/organisations/{fsp}/delegations/{delegation}/revoke", headers=world.auth("fsp", fsp))
    assert world.client.get(f"/organisations/{fsp}", headers={**as_platform, "On-Behalf-Of": fsp}).status_code == 403


def test_delegation_scopes_must_be_delegable_operations(world: World, platform: str) -> None:
    fsp = world.org("FSP")
    before = world.snapshot()
    response = world.client.post(f"/organisations/{fsp}/delegations", headers=world.auth("fsp", fsp), json={
        "platform": platform, "scopes": ["organisation.deregister"], "validFrom": "2026-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "scopes"
    assert world.snapshot() == before


def test_delegation_to_a_non_platform_is_refused(world: World) -> None:
    fsp, not_platform = world.org("FSP"), world.org("FSP")
    response = world.client.post(f"/organisations/{fsp}/delegations", headers=world.auth("fsp", fsp), json={
        "platform": not_platform, "scopes": ["organisation.read"], "validFrom": "2026-01-01T00:00:00Z"})
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"platform"}


def test_on_behalf_of_accepts_the_iri(world: World, platform: str) -> None:
    fsp = world.org("FSP")
    world.delegation(fsp, platform, ["organisation.read"])
    iri = str(world.registry.iris.record("organisations", fsp))
    response = world.client.get(f"/organisations/{fsp}", headers={
        "Authorization": f"Bearer {_platform_token(world, platform)}", "On-Behalf-Of": iri})
    assert response.status_code == 200
    assert isinstance(URIRef(response.json()["id"]), URIRef)


def test_revoked_credentials_and_delegations_cannot_be_revoked_again(world: World, platform: str) -> None:
    fsp = world.org("FSP")
    client_id, _ = world.client_credentials(platform)
    delegation = world.delegation(fsp, platform, ["organisation.read"])
    for path, headers in ((f"/organisations/{platform}/clients/{client_id}/revoke", world.auth("platform", platform)),
                          (f"/organisations/{fsp}/delegations/{delegation}/revoke", world.auth("fsp", fsp))):
        assert world.client.post(path, headers=headers).status_code == 200
        before = world.snapshot()
        assert world.client.post(path, headers=headers).status_code == 409
        assert world.snapshot() == before


def test_a_platform_cannot_revoke_another_platforms_client(world: World, platform: str) -> None:
    other = world.org("PLATFORM")
    client_id, _ = world.client_credentials(other)
    response = world.client.post(f"/organisations/{platform}/clients/{client_id}/revoke",
                                 headers=world.auth("platform", platform))
    assert response.status_code == 404
