"""Shared by the Schemathesis runs: a private live server (it deletes and rewrites whatever ids it guesses),
seeded so that small ids point at real rows, and the bounded fuzz loop itself."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import hypothesis
import hypothesis.errors
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from sqlalchemy.ext.asyncio import AsyncSession

from channels.api.signing import signature
from hub.crypto import token_hash
from hub.db import make_engine
from hub.migrate import upgrade_async
from hub.models import ApiToken, User
from tests.conftest import LiveServer, start_server
from tests.stacks import Stack, create_database, drop_database, embedded_stack, pg_stack

FAR_ID = 987_654_321  # the fuzzing admin's id: random ids rarely hit its own account or token


async def _seed_admin(url: str) -> str:
    token = "hub_" + secrets.token_urlsafe(32)
    engine = make_engine(url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            session.add(User(id=FAR_ID, email="fuzz-admin@example.test", name="Fuzz", role="admin", password_hash=""))
            await session.flush()
            session.add(
                ApiToken(id=FAR_ID, user_id=FAR_ID, name="fuzz", token_hash=token_hash(token), prefix=token[:8])
            )
    finally:
        await engine.dispose()
    return token


def _seed_data(server: LiveServer, token: str) -> None:
    """An inbox with a conversation, a note and an attachment, so small ids point at real rows."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=h, timeout=10) as http:
        secret = secrets.token_hex(8)
        resp = http.post(
            "/api/v1/inboxes", json={"name": "Fuzz", "channel": "api", "credentials": {"hmac_secret": secret}}
        )
        assert resp.status_code == 201, resp.text
        inbox = resp.json()
        http.post("/api/v1/teams", json={"name": "Fuzzers"})
        for i in range(2):
            payload = {"id": f"m{i}", "sender": {"id": f"s{i}", "name": "Sender"}, "text": f"hello {i}"}
            body = json.dumps(payload).encode()
            resp = http.post(
                f"/webhooks/api/{inbox['public_token']}/messages",
                content=body,
                headers={"content-type": "application/json", "x-hub-signature": signature(secret, body)},
            )
            assert resp.status_code < 300, resp.text
        http.post("/api/v1/conversations/1/notes", json={"text": "note"})


def _seed_package_data(server: LiveServer, token: str) -> None:
    """One row of each kind, so that small ids reach real rules, policies, macros and articles."""
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=h, timeout=10) as http:
        hours = http.post("/api/v1/business-hours", json={"name": "Office", "weekly": {"0": [["09:00", "17:00"]]}})
        assert hours.status_code == 201, hours.text
        policy = {"name": "Std", "first_response_seconds": 3600, "business_hours_id": hours.json()["id"]}
        assert http.post("/api/v1/sla-policies", json=policy).status_code == 201
        assert http.post("/api/v1/canned-responses", json={"shortcut": "hi", "body": "Hello"}).status_code == 201
        actions = [{"type": "set_priority", "priority": "high"}]
        assert http.post("/api/v1/macros", json={"name": "Urgent", "actions": actions}).status_code == 201
        assert http.post("/api/v1/routing-rules", json={"name": "All", "actions": actions}).status_code == 201
        rule = {"name": "On create", "event": "conversation.created", "actions": actions}
        resp = http.post("/api/v1/automation-rules", json=rule)
        assert resp.status_code == 201, resp.text
        resp = http.post("/api/v1/kb/categories", json={"name": "Billing"})
        assert resp.status_code < 300, resp.text
        article = {"title": "Refunds", "body_md": "How to get a refund.", "category_id": resp.json()["id"]}
        resp = http.post("/api/v1/kb/articles", json={**article, "publish": True})
        assert resp.status_code < 300, resp.text


@asynccontextmanager
async def private_server(stack: Stack, data_dir: Path) -> AsyncIterator[tuple[LiveServer, str]]:
    """A server on its own database of the stack's kind, with kernel and package rows and an admin token."""
    database = await create_database() if stack.is_pg else None
    own = pg_stack(data_dir, database) if database else embedded_stack(data_dir)
    try:
        await upgrade_async(own.settings.effective_database_url)
        token = await _seed_admin(own.settings.effective_database_url)
        server = await asyncio.to_thread(start_server, own, data_dir)
        try:
            await asyncio.to_thread(_seed_data, server, token)
            await asyncio.to_thread(_seed_package_data, server, token)
            yield server, token
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        if database:
            await drop_database(database)


def fuzz(
    url: str,
    token: str,
    paths: list[str],
    *,
    budget: float,
    examples: int,
    ids_first: bool = False,
    min_operations: int = 0,
) -> tuple[list[str], int, set[str]]:
    """Valid then invalid input, operation by operation, until the time budget is spent; returns the 5xx
    (and lost-token 401) failures, the number of calls and the operation/mode pairs covered."""
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json").include(path=paths)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = 0
    covered: set[str] = set()
    deadline = time.monotonic() + budget
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > min_operations
    if ids_first:  # operations taking a path id are where unbounded integers used to reach the database
        operations.sort(key=lambda op: ("{" not in op.path, op.path, op.method))
    # operation by operation, valid then invalid input, so a spent budget cuts whole operations, not a mode
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                print(f"schemathesis: budget spent after {len(covered)} operation/mode pairs, {calls} calls")
                return failures, calls, covered

            @hypothesis.settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                covered.add(f"{mode.value} {case.method} {case.path}")
                response = case.call(base_url=url, headers=headers, timeout=15)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}")
                if response.status_code == 401:
                    failures.append(f"{case.method} {case.formatted_path} -> 401: the fuzz token stopped working")

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                continue  # nothing to make invalid (no parameters, no body)
    print(f"schemathesis: {len(covered)} operation/mode pairs, {calls} calls")
    return failures, calls, covered
