"""Inboxes, users, teams and tokens: who may change them, validation, and secrets never leaving."""

from __future__ import annotations

import httpx

from hub.inboxes import get_inbox_config
from tests.api.conftest import World, incoming
from tests.factories import bearer, unique


async def test_inbox_crud_validates_against_the_channel_and_hides_credentials(client: httpx.AsyncClient, world: World):
    admin = world.h("admin")
    body = {
        "name": unique("Support"),
        "channel": "api",
        "settings": {"callback_url": ""},
        "credentials": {"hmac_secret": "s3cret-value"},
    }
    resp = await client.post("/api/v1/inboxes", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    inbox = resp.json()
    assert inbox["credential_keys"] == ["hmac_secret"] and "s3cret-value" not in resp.text
    assert len(inbox["public_token"]) >= 20 and inbox["settings"]["timeout_seconds"] == 10.0
    assert (await get_inbox_config(inbox["id"])).credentials["hmac_secret"] == "s3cret-value"

    bad = await client.post("/api/v1/inboxes", json={**body, "settings": {"callback_url": 5}}, headers=admin)
    assert bad.status_code == 400 and "settings" in bad.json()["detail"] and "callback_url" in bad.json()["detail"]
    bad = await client.post("/api/v1/inboxes", json={**body, "settings": {"nope": 1}}, headers=admin)
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]
    bad = await client.post("/api/v1/inboxes", json={**body, "credentials": {}}, headers=admin)
    assert bad.status_code == 400 and "hmac_secret" in bad.json()["detail"]
    bad = await client.post("/api/v1/inboxes", json={**body, "channel": "pigeon"}, headers=admin)
    assert bad.status_code == 400 and "pigeon" in bad.json()["detail"]
    bad = await client.post("/api/v1/inboxes", json={**body, "time_zone": "Mars/Olympus"}, headers=admin)
    assert bad.status_code == 400

    url = f"/api/v1/inboxes/{inbox['id']}"
    resp = await client.patch(url, json={"credentials": {"hmac_secret": "rotated"}, "name": "Renamed"}, headers=admin)
    assert resp.status_code == 200 and resp.json()["name"] == "Renamed" and "rotated" not in resp.text
    assert (await get_inbox_config(inbox["id"])).credentials["hmac_secret"] == "rotated"  # cache invalidated
    rotated = await client.patch(url, json={"rotate_public_token": True}, headers=admin)
    assert rotated.json()["public_token"] != inbox["public_token"]
    listed = (await client.get("/api/v1/inboxes", headers=admin)).json()
    assert inbox["id"] in {i["id"] for i in listed} and "rotated" not in str(listed)

    resp = await client.put(f"{url}/members", json={"user_ids": [world.agent.id]}, headers=admin)
    assert resp.json() == {"user_ids": [world.agent.id]}
    assert (await client.get(url, headers=world.h("agent"))).status_code == 200  # membership is live
    bad = await client.put(f"{url}/members", json={"user_ids": [2**60]}, headers=admin)
    assert bad.status_code == 400

    await incoming(world.inbox)
    in_use = await client.delete(f"/api/v1/inboxes/{world.inbox.id}", headers=admin)
    assert in_use.status_code == 409 and "deactivate" in in_use.json()["detail"]
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.get(url, headers=admin)).status_code == 404


async def test_agents_see_only_their_inboxes(client: httpx.AsyncClient, world: World):
    ids = {i["id"] for i in (await client.get("/api/v1/inboxes", headers=world.h("agent"))).json()}
    assert ids == {world.inbox.id}
    assert (await client.get(f"/api/v1/inboxes/{world.other_inbox.id}", headers=world.h("agent"))).status_code == 404
    members = await client.get(f"/api/v1/inboxes/{world.inbox.id}/members", headers=world.h("agent"))
    assert members.json()["user_ids"] == [world.agent.id]


async def test_users_lifecycle(client: httpx.AsyncClient, world: World):
    admin = world.h("admin")
    email = f"{unique('New.Agent')}@Example.org"
    body = {"email": email, "password": "a long enough password", "name": "New", "inbox_ids": [world.inbox.id]}
    resp = await client.post("/api/v1/users", json=body, headers=admin)
    assert resp.status_code == 201, resp.text
    user = resp.json()
    assert user["email"] == email.lower() and user["inbox_ids"] == [world.inbox.id] and "password" not in user
    assert (await client.post("/api/v1/users", json=body, headers=admin)).status_code == 409
    short = await client.post("/api/v1/users", json={**body, "email": "x" + email, "password": "short"}, headers=admin)
    assert short.status_code == 400
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": "a long enough password"})
    assert login.status_code == 200
    # the new user makes a token through their cookie session (with its CSRF token)
    made = await client.post("/api/v1/tokens", json={"name": "t"}, headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert made.status_code == 201, made.text
    user_token = bearer(made.json()["token"])
    client.cookies.clear()

    url = f"/api/v1/users/{user['id']}"
    resp = await client.patch(url, json={"role": "manager", "team_ids": []}, headers=admin)
    assert resp.status_code == 200 and resp.json()["role"] == "manager"
    assert (await client.patch(url, json={"role": "god"}, headers=admin)).status_code == 400
    listed = (await client.get("/api/v1/users", headers=world.h("agent"))).json()
    assert user["id"] in {u["id"] for u in listed}
    resp = await client.delete(url, headers=admin)
    assert resp.status_code == 200 and resp.json()["active"] is False
    listed = (await client.get("/api/v1/users", headers=world.h("agent"))).json()
    assert user["id"] not in {u["id"] for u in listed}
    listed = (await client.get("/api/v1/users", params={"include_inactive": True}, headers=admin)).json()
    assert user["id"] in {u["id"] for u in listed}
    assert (await client.get("/api/v1/auth/me", headers=user_token)).status_code == 401  # locked out at once
    me = await client.delete(f"/api/v1/users/{world.admin.id}", headers=admin)
    assert me.status_code == 400 and "yourself" in me.json()["detail"]


async def test_teams(client: httpx.AsyncClient, world: World):
    manager = world.h("manager")
    name = unique("Billing")
    resp = await client.post("/api/v1/teams", json={"name": name, "member_ids": [world.agent.id]}, headers=manager)
    assert resp.status_code == 201, resp.text
    team = resp.json()
    assert team["member_ids"] == [world.agent.id]
    assert (await client.post("/api/v1/teams", json={"name": name}, headers=manager)).status_code == 409
    url = f"/api/v1/teams/{team['id']}"
    resp = await client.put(f"{url}/members", json={"user_ids": [world.agent.id, world.manager.id]}, headers=manager)
    assert sorted(resp.json()["member_ids"]) == sorted([world.agent.id, world.manager.id])
    resp = await client.patch(url, json={"description": "Money"}, headers=manager)
    assert resp.json()["description"] == "Money"
    assert team["id"] in {t["id"] for t in (await client.get("/api/v1/teams", headers=world.h("agent"))).json()}
    assert (await client.delete(url, headers=manager)).status_code == 204
    assert (await client.get(url, headers=manager)).status_code == 404


async def test_tokens_are_shown_once_and_revocable(client: httpx.AsyncClient, world: World):
    resp = await client.post("/api/v1/tokens", json={"name": "ci"}, headers=world.h("agent"))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    token = created["token"]
    me = await client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["id"] == world.agent.id
    listed = (await client.get("/api/v1/tokens", headers=bearer(token))).json()
    assert created["id"] in {t["id"] for t in listed} and token not in str(listed)
    # another agent cannot revoke it (and cannot tell it exists); its owner can
    resp = await client.delete(f"/api/v1/tokens/{created['id']}", headers=world.h("outsider"))
    assert resp.status_code == 404
    resp = await client.delete(f"/api/v1/tokens/{created['id']}", headers=bearer(token))
    assert resp.status_code == 200 and resp.json()["revoked_at"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(token))).status_code == 401
    # an admin may revoke anyone's
    other = (await client.post("/api/v1/tokens", json={"name": "x"}, headers=world.h("outsider"))).json()
    resp = await client.delete(f"/api/v1/tokens/{other['id']}", headers=world.h("admin"))
    assert resp.status_code == 200


async def test_concurrent_member_updates_do_not_collide(client: httpx.AsyncClient, world: World):
    import asyncio

    url = f"/api/v1/inboxes/{world.inbox.id}/members"
    body = {"user_ids": [world.agent.id, world.manager.id]}
    answers = await asyncio.gather(*(client.put(url, json=body, headers=world.h("admin")) for _ in range(8)))
    assert [r.status_code for r in answers] == [200] * 8
    team = (await client.post("/api/v1/teams", json={"name": unique("t")}, headers=world.h("admin"))).json()
    turl = f"/api/v1/teams/{team['id']}/members"
    answers = await asyncio.gather(*(client.put(turl, json=body, headers=world.h("admin")) for _ in range(8)))
    assert [r.status_code for r in answers] == [200] * 8
