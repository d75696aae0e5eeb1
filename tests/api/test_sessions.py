"""Cookie sessions: none is made for requests that never sign in, and signing in always starts a new one."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, make_user


def _set_cookies(resp: httpx.Response) -> list[str]:
    return [c for c in resp.headers.get_list("set-cookie") if c.startswith("hub_session=")]


async def test_requests_without_a_session_leave_none_behind(client: httpx.AsyncClient):
    """Webhooks, health checks and token-authenticated calls must not fill the session store."""
    assert _set_cookies(await client.get("/health")) == []
    assert _set_cookies(await client.post("/webhooks/api/no-such-inbox/messages", content=b"{}")) == []
    assert _set_cookies(await client.get("/api/v1/auth/me")) == []
    assert not client.cookies


async def test_sign_in_replaces_a_planted_session_id(client: httpx.AsyncClient):
    """Session fixation: an id set in the browser before sign-in never becomes a signed-in session."""
    user = await make_user("agent")
    planted = "a" * 64
    client.cookies.set("hub_session", planted, domain="testserver.local")
    login = await client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    fresh = client.cookies.get("hub_session")
    assert fresh and fresh != planted
    assert (await client.get("/api/v1/auth/me")).json()["id"] == user.id

    attacker = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with attacker:
        attacker.cookies.set("hub_session", planted, domain="testserver.local")
        assert (await attacker.get("/api/v1/auth/me")).status_code == 401

    out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert out.status_code == 200 and any("hub_session=null" in c for c in _set_cookies(out))
    client.cookies.clear()
    client.cookies.set("hub_session", fresh, domain="testserver.local")
    assert (await client.get("/api/v1/auth/me")).status_code == 401  # the signed-out session is gone from the store
