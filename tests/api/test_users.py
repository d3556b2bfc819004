"""UC-01.01 over HTTP: register users, unique e-mail per organisation, activate and deactivate."""

from __future__ import annotations

from tests.api.conftest import World


def test_register_read_and_list_users(world: World) -> None:
    org = world.org("FSP")
    admin = world.auth("fsp", org, subject=world.user(org, "ORG_ADMIN"))
    response = world.client.post(f"/organisations/{org}/users", headers=admin, json={
        "name": "Cara Dyke", "email": "cara@fen.example", "roles": ["ASSET_MANAGER", "DATA_VIEWER"]})
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["status"] == "Active" and user["memberOf"] == str(world.registry.iris.record("organisations", org))
    assert response.headers["location"].endswith(f"/users/{user['identifier']}")
    assert world.client.get(f"/users/{user['identifier']}", headers=admin).json() == user
    listed = world.client.get(f"/organisations/{org}/users", headers=admin).json()["items"]
    assert user["identifier"] in {u["identifier"] for u in listed}


def test_email_is_unique_within_the_organisation_only(world: World) -> None:
    org, other = world.org("FSP"), world.org("FSP")
    world.user(org, email="dup@example.org")
    before = world.snapshot()
    clash = world.client.post(f"/organisations/{org}/users", headers=world.auth("admin"), json={
        "name": "Dup", "email": "DUP@example.org", "roles": ["DATA_VIEWER"]})
    assert clash.status_code == 409 and clash.json()["existingId"]
    assert world.snapshot() == before
    elsewhere = world.client.post(f"/organisations/{other}/users", headers=world.auth("admin"), json={
        "name": "Dup", "email": "dup@example.org", "roles": ["DATA_VIEWER"]})
    assert elsewhere.status_code == 201


def test_user_rules(world: World) -> None:
    org = world.org("FSP")
    before = world.snapshot()
    for body, path in (({"name": "A", "email": "not-an-email", "roles": ["DATA_VIEWER"]}, "email"),
                       ({"name": "A", "email": "a@example.org", "roles": ["SUPERUSER"]}, "roles"),
                       ({"email": "a@example.org", "roles": ["DATA_VIEWER"]}, "name")):
        response = world.client.post(f"/organisations/{org}/users", headers=world.auth("admin"), json=body)
        assert response.status_code == 422, response.text
        assert path in {e["path"] for e in response.json()["errors"]}
    memberof = world.client.post(f"/organisations/{org}/users", headers=world.auth("admin"), json={
        "name": "A", "email": "a@example.org", "roles": ["DATA_VIEWER"], "memberOf": org})
    assert memberof.status_code == 422
    assert world.snapshot() == before


def test_deactivated_users_tokens_are_refused_until_reactivated(world: World) -> None:
    org = world.org("FSP")
    user = world.user(org, "DATA_VIEWER")
    headers = world.auth("fsp", org, subject=user)
    assert world.client.get(f"/organisations/{org}", headers=headers).status_code == 200
    off = world.client.post(f"/users/{user}/deactivate", json={"reason": "left"}, headers=world.auth("admin"))
    assert off.status_code == 200 and off.json()["status"] == "Inactive"
    refused = world.client.get(f"/organisations/{org}", headers=headers)
    assert refused.status_code == 401 and "deactivated" in refused.json()["detail"]
    assert world.client.post(f"/users/{user}/deactivate", headers=world.auth("admin")).status_code == 409
    assert world.client.post(f"/users/{user}/activate", headers=world.auth("admin")).json()["status"] == "Active"
    assert world.client.get(f"/organisations/{org}", headers=headers).status_code == 200
    assert world.client.post(f"/users/{user}/activate", headers=world.auth("admin")).status_code == 409


def test_a_user_token_for_another_organisation_is_refused(world: World) -> None:
    org, other = world.org("FSP"), world.org("FSP")
    user = world.user(org)
    response = world.client.get(f"/organisations/{other}", headers=world.auth("fsp", other, subject=user))
    assert response.status_code == 401


def test_no_users_join_an_inactive_organisation(world: World) -> None:
    org = world.org("FSP")
    world.client.post(f"/organisations/{org}/deregister", json={"reason": "gone"}, headers=world.auth("admin"))
    response = world.client.post(f"/organisations/{org}/users", headers=world.auth("admin"), json={
        "name": "Late", "email": "late@example.org", "roles": ["DATA_VIEWER"]})
    assert response.status_code == 422
