"""Every route's permission path, Zulip style: a table with one row per route of the kernel API.

For each row: anonymous -> 401; too low a role -> 403; an agent outside the inbox -> 404; a cookie session
without the CSRF token on an unsafe method -> 403; a cookie session with it, and a bearer token, succeed.
`test_every_kernel_api_route_has_a_permission_row` walks the app's routes, so a new route without a row
fails. Routes of other packages get the generic check that they refuse anonymous callers.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy import select

from hub.app import PUBLIC_PATHS
from hub.crypto import token_hash
from hub.db import session_scope
from hub.inbound import InboundAttachment
from hub.models import ApiToken, Attachment
from tests.api.conftest import World, incoming, make_world
from tests.factories import login, make_inbox, make_team, make_token, make_user, unique

SAFE = {"GET", "HEAD", "OPTIONS"}
Prepare = Callable[[World], Awaitable[tuple[str, Any]]]


@dataclass
class Row:
    role: str  # the lowest role that may call it: agent, manager, admin
    scoped: bool  # an agent outside the resource's inbox gets 404
    prepare: Prepare  # -> (concrete path, JSON body); called afresh for each successful call
    ok: int = 200


def fixed(path: str, body: Any = None) -> Prepare:
    async def prepare(w: World) -> tuple[str, Any]:
        return path.format(w=w), body

    return prepare


async def _fresh_contact(w: World) -> tuple[str, Any]:
    other = (await incoming(w.inbox))[1]
    return f"/api/v1/contacts/{w.contact_id}/merge", {"other_id": other}


async def _fresh_inbox(w: World) -> tuple[str, Any]:
    return f"/api/v1/inboxes/{(await make_inbox('api')).id}", None


async def _new_inbox(w: World) -> tuple[str, Any]:
    return "/api/v1/inboxes", {"name": unique("inbox"), "channel": "api", "credentials": {"hmac_secret": "s"}}


async def _inbox_members(w: World) -> tuple[str, Any]:
    return f"/api/v1/inboxes/{w.inbox.id}/members", {"user_ids": [w.agent.id]}


async def _new_user(w: World) -> tuple[str, Any]:
    return "/api/v1/users", {"email": f"{unique('u')}@example.org", "password": "long enough password"}


async def _fresh_user(w: World) -> tuple[str, Any]:
    return f"/api/v1/users/{(await make_user('agent')).id}", None


async def _patch_user(w: World) -> tuple[str, Any]:
    return f"/api/v1/users/{(await make_user('agent')).id}", {"name": "Renamed"}


async def _fresh_team(w: World) -> tuple[str, Any]:
    return f"/api/v1/teams/{(await make_team()).id}", None


async def _patch_team(w: World) -> tuple[str, Any]:
    return f"/api/v1/teams/{(await make_team()).id}", {"description": "d"}


async def _team_members(w: World) -> tuple[str, Any]:
    return f"/api/v1/teams/{(await make_team()).id}/members", {"user_ids": [w.agent.id]}


async def _own_token(w: World) -> tuple[str, Any]:
    token = await make_token(w.agent)
    async with session_scope() as s:
        token_id = (await s.execute(select(ApiToken.id).where(ApiToken.token_hash == token_hash(token)))).scalar_one()
    return f"/api/v1/tokens/{token_id}", None


async def _attachment(w: World) -> tuple[str, Any]:
    _conv, _, message = await incoming(
        w.inbox, attachments=[InboundAttachment("a.txt", "text/plain", data=b"hello file")]
    )
    async with session_scope() as s:
        att = (await s.execute(select(Attachment.id).where(Attachment.message_id == message))).scalar_one()
    return f"/api/v1/attachments/{att}", None


C = "/api/v1/conversations/{w.conversation_id}"
K = "/api/v1/contacts/{w.contact_id}"
INBOX = "/api/v1/inboxes/{w.inbox.id}"

TABLE: dict[str, Row] = {
    "GET /api/v1/auth/me": Row("agent", False, fixed("/api/v1/auth/me")),
    "POST /api/v1/auth/logout": Row("agent", False, fixed("/api/v1/auth/logout")),
    "GET /api/v1/conversations": Row("agent", False, fixed("/api/v1/conversations")),
    "GET /api/v1/conversations/{conversation_id}": Row("agent", True, fixed(C)),
    "PATCH /api/v1/conversations/{conversation_id}": Row("agent", True, fixed(C, {"priority": "low"})),
    "GET /api/v1/conversations/{conversation_id}/messages": Row("agent", True, fixed(C + "/messages")),
    "POST /api/v1/conversations/{conversation_id}/messages": Row(
        "agent", True, fixed(C + "/messages", {"text": "Hello"}), 201
    ),
    "POST /api/v1/conversations/{conversation_id}/notes": Row(
        "agent", True, fixed(C + "/notes", {"text": "Note"}), 201
    ),
    "GET /api/v1/contacts": Row("agent", False, fixed("/api/v1/contacts")),
    "GET /api/v1/contacts/{contact_id}": Row("agent", True, fixed(K)),
    "PATCH /api/v1/contacts/{contact_id}": Row("agent", True, fixed(K, {"company": "Acme"})),
    "GET /api/v1/contacts/{contact_id}/timeline": Row("agent", True, fixed(K + "/timeline")),
    "POST /api/v1/contacts/{contact_id}/merge": Row("agent", True, _fresh_contact),
    "GET /api/v1/inboxes": Row("agent", False, fixed("/api/v1/inboxes")),
    "GET /api/v1/inboxes/{inbox_id}": Row("agent", True, fixed(INBOX)),
    "GET /api/v1/inboxes/{inbox_id}/members": Row("agent", True, fixed(INBOX + "/members")),
    "POST /api/v1/inboxes": Row("admin", False, _new_inbox, 201),
    "PATCH /api/v1/inboxes/{inbox_id}": Row("admin", False, fixed(INBOX, {"time_zone": "Europe/Paris"})),
    "DELETE /api/v1/inboxes/{inbox_id}": Row("admin", False, _fresh_inbox, 204),
    "PUT /api/v1/inboxes/{inbox_id}/members": Row("admin", False, _inbox_members),
    "GET /api/v1/users": Row("agent", False, fixed("/api/v1/users")),
    "GET /api/v1/users/{user_id}": Row("agent", False, fixed("/api/v1/users/{w.admin.id}")),
    "POST /api/v1/users": Row("admin", False, _new_user, 201),
    "PATCH /api/v1/users/{user_id}": Row("admin", False, _patch_user),
    "DELETE /api/v1/users/{user_id}": Row("admin", False, _fresh_user),
    "GET /api/v1/teams": Row("agent", False, fixed("/api/v1/teams")),
    "GET /api/v1/teams/{team_id}": Row("agent", False, _fresh_team),
    "POST /api/v1/teams": Row("manager", False, fixed("/api/v1/teams", None), 201),
    "PATCH /api/v1/teams/{team_id}": Row("manager", False, _patch_team),
    "DELETE /api/v1/teams/{team_id}": Row("manager", False, _fresh_team, 204),
    "PUT /api/v1/teams/{team_id}/members": Row("manager", False, _team_members),
    "POST /api/v1/tokens": Row("agent", False, fixed("/api/v1/tokens", {"name": "ci"}), 201),
    "GET /api/v1/tokens": Row("agent", False, fixed("/api/v1/tokens")),
    "DELETE /api/v1/tokens/{token_id}": Row("agent", False, _own_token),
    "GET /api/v1/attachments/{attachment_id}": Row("agent", True, _attachment),
}


async def _new_team_body(w: World) -> tuple[str, Any]:
    return "/api/v1/teams", {"name": unique("team")}


TABLE["POST /api/v1/teams"].prepare = _new_team_body


def app_of(client: httpx.AsyncClient) -> Litestar:
    transport = client._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    assert isinstance(app, Litestar)
    return app


def http_routes(app: Litestar) -> list[tuple[str, HTTPRoute, Any]]:
    """(METHOD, route, handler) for every HTTP route, HEAD/OPTIONS left out."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method not in ("HEAD", "OPTIONS"):
                    found.append((method, route, handler))
    return found


def is_public(path: str, handler: Any) -> bool:
    return bool(handler.opt.get("public")) or any(re.search(p, path) for p in PUBLIC_PATHS)


def is_kernel_api(handler: Any) -> bool:
    return getattr(handler.fn, "__module__", "").startswith("hub.api.")


async def test_every_kernel_api_route_has_a_permission_row(client: httpx.AsyncClient):
    routes = {
        f"{method} {route.path_format}"
        for method, route, handler in http_routes(app_of(client))
        if is_kernel_api(handler) and not is_public(route.path, handler)
    }
    assert routes - TABLE.keys() == set(), "add a row to TABLE for each new route"
    assert TABLE.keys() - routes == set(), "TABLE lists routes the app does not have"


@dataclass
class Signed:
    world: World
    sessions: dict[str, tuple[str, str]]  # role -> (session cookie, CSRF token)


async def sign_in(client: httpx.AsyncClient, user: Any) -> tuple[str, str]:
    client.cookies.clear()
    csrf = await login(client, user)
    cookie = client.cookies.get("hub_session")
    client.cookies.clear()
    assert cookie
    return cookie, csrf


@pytest.fixture(scope="module")
async def signed(client: httpx.AsyncClient) -> Signed:
    """One world and one cookie session per role for the whole table (password checks are slow on purpose)."""
    w = await make_world()
    users = {"agent": w.agent, "manager": w.manager, "admin": w.admin}
    return Signed(w, {role: await sign_in(client, user) for role, user in users.items()})


@pytest.mark.parametrize("key", sorted(TABLE))
async def test_route_permissions(client: httpx.AsyncClient, signed: Signed, key: str):
    method, _ = key.split(" ", 1)
    row = TABLE[key]
    w = signed.world
    path, body = await row.prepare(w)

    async def call(headers: dict[str, str] | None = None) -> httpx.Response:
        return await client.request(method, path, json=body, headers=headers or {})

    resp = await call()
    assert resp.status_code == 401, f"anonymous: {resp.status_code} {resp.text}"
    if row.role in ("manager", "admin"):
        resp = await call(w.h("agent"))
        assert resp.status_code == 403, f"agent: {resp.status_code} {resp.text}"
    if row.role == "admin":
        resp = await call(w.h("manager"))
        assert resp.status_code == 403, f"manager: {resp.status_code} {resp.text}"
    if row.scoped:
        resp = await call(w.h("outsider"))
        assert resp.status_code == 404, f"outsider: {resp.status_code} {resp.text}"

    # signing out ends the session, so that row gets a session of its own
    cookie, csrf = await sign_in(client, w.agent) if key.endswith("/auth/logout") else signed.sessions[row.role]
    session = {"Cookie": f"hub_session={cookie}"}
    if method not in SAFE:
        resp = await call(session)
        assert resp.status_code == 403 and "CSRF" in resp.text, f"no CSRF: {resp.status_code} {resp.text}"
    resp = await call({**session, "X-CSRF-Token": csrf})
    assert resp.status_code == row.ok, f"session: {resp.status_code} {resp.text}"
    client.cookies.clear()

    path, body = await row.prepare(w)
    resp = await call(w.h(row.role))
    assert resp.status_code == row.ok, f"bearer: {resp.status_code} {resp.text}"


def _fill(route: HTTPRoute) -> str:
    path = route.path_format
    for name, param in route.path_parameters.items():
        kind = getattr(param, "type", int)
        value = {int: "1", uuid.UUID: str(uuid.uuid4())}.get(kind, secrets.token_hex(4))
        path = path.replace("{" + name + "}", value)
    return path


async def test_every_non_public_route_refuses_anonymous_callers(client: httpx.AsyncClient):
    """All packages: without a session or token nothing private answers (401, or a redirect to sign in)."""
    failures = []
    for method, route, handler in http_routes(app_of(client)):
        if is_public(route.path, handler):
            continue
        resp = await client.request(method, _fill(route))
        allowed = {401} if route.path.startswith("/api/") else {401, 302, 303, 307}
        if resp.status_code not in allowed:
            failures.append(f"{method} {route.path_format}: {resp.status_code}")
    assert failures == []
