"""A bounded Schemathesis run over the kernel API's OpenAPI schema: whatever it sends, never a 5xx.

It runs against a real server on its own private database (of the same kind as the stack), because it
deletes and rewrites whatever ids it guesses; the admin it signs in as has a far-away id so that random
ids rarely hit the caller's own account or token.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from sqlalchemy.ext.asyncio import AsyncSession

from channels.api.signing import signature
from hub.crypto import token_hash
from hub.db import make_engine
from hub.migrate import upgrade_async
from hub.models import ApiToken, User
from tests.api.test_permissions import TABLE
from tests.conftest import LiveServer, start_server
from tests.stacks import Stack, create_database, drop_database, embedded_stack, pg_stack

BUDGET_SECONDS = 15.0
EXAMPLES = 4
FAR_ID = 987_654_321
# Exactly the kernel API's routes (the permission table lists them); other packages test their own.
KERNEL_PATHS = sorted({key.split(" ", 1)[1] for key in TABLE})


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


@pytest.fixture(scope="module")
async def fuzz_server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LiveServer, str]]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    database = await create_database() if stack.is_pg else None
    own = pg_stack(data_dir, database) if database else embedded_stack(data_dir)
    try:
        await upgrade_async(own.settings.effective_database_url)
        token = await _seed_admin(own.settings.effective_database_url)
        server = await asyncio.to_thread(start_server, own, data_dir)
        try:
            await asyncio.to_thread(_seed_data, server, token)
            yield server, token
        finally:
            await asyncio.to_thread(server.stop)
    finally:
        if database:
            await drop_database(database)


def _fuzz(url: str, token: str) -> tuple[list[str], int]:
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json").include(path=KERNEL_PATHS)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = 0
    covered: set[str] = set()
    deadline = time.monotonic() + BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    # operation by operation, valid then invalid input, so a spent budget cuts whole operations, not a mode
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                print(f"schemathesis: budget spent after {len(covered)} operation/mode pairs, {calls} calls")
                return failures, calls

            @hypothesis.settings(
                max_examples=EXAMPLES,
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
    return failures, calls


async def test_no_server_errors_whatever_is_sent(fuzz_server: tuple[LiveServer, str]):
    server, token = fuzz_server
    failures, calls = await asyncio.to_thread(_fuzz, server.url, token)
    log = Path(server.log).read_text() if failures else ""
    assert failures == [], "\n".join(failures[:20]) + "\n" + log[-4000:]
    assert calls > 50
