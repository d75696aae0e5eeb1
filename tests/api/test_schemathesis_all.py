"""A bounded Schemathesis run over the ticketing and knowledge-base operations under /api/v1: never a 5xx.

The kernel's own run (`test_schemathesis.py`) covers exactly the kernel routes; this one covers the routes
that ticketing and knowledge_base add (rules, SLA, business hours, canned responses, macros, automation,
assignment, reports, articles, categories, search and suggestions). Same setup: a real server on a private
database of the stack's kind, signed in as an admin with a far-away id, small ids pointing at real rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode

from hub.migrate import upgrade_async
from tests.api.test_permissions import app_of, http_routes
from tests.api.test_schemathesis import _seed_admin, _seed_data
from tests.conftest import LiveServer, start_server
from tests.stacks import Stack, create_database, drop_database, embedded_stack, pg_stack

BUDGET_SECONDS = 20.0
EXAMPLES = 3
PACKAGES = ("ticketing.", "knowledge_base.")
HOSTILE_IDS = (0, -1, 2**62 + 1, 2**63, 2**64, 10**30)


def package_paths(client: httpx.AsyncClient) -> list[str]:
    """The /api/v1 paths whose handlers live in ticketing or knowledge_base, as the OpenAPI schema spells them."""
    return sorted(
        {
            route.path_format
            for _method, route, handler in http_routes(app_of(client))
            if route.path_format.startswith("/api/v1/") and getattr(handler.fn, "__module__", "").startswith(PACKAGES)
        }
    )


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


@pytest.fixture(scope="module")
async def package_fuzz_server(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[LiveServer, str]]:
    data_dir = tmp_path_factory.mktemp("fuzz-all")
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


def _fuzz(url: str, token: str, paths: list[str]) -> tuple[list[str], int, set[str]]:
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json").include(path=paths)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = 0
    covered: set[str] = set()
    deadline = time.monotonic() + BUDGET_SECONDS
    operations = [result.ok() for result in schema.get_all_operations()]
    # ids first: the operations that take a path id are where unbounded integers used to reach the database
    operations.sort(key=lambda op: ("{" not in op.path, op.path, op.method))
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() > deadline:
                print(f"schemathesis: budget spent after {len(covered)} operation/mode pairs, {calls} calls")
                return failures, calls, covered

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
    return failures, calls, covered


def _int_params(operation: schemathesis.APIOperation, location: str) -> list[str]:
    params = operation.path_parameters if location == "path" else operation.query
    names = []
    for param in params:
        schema = param.definition.get("schema", {})
        kinds = [schema.get("type"), *(s.get("type") for s in schema.get("oneOf", schema.get("anyOf", [])))]
        if "integer" in kinds:
            names.append(param.name)
    return names


def _hostile_ids(url: str, token: str, paths: list[str]) -> tuple[list[str], int]:
    """Every integer id in a path or query, one at a time past each bound, with an otherwise valid request.

    Random generation rarely draws integers past 2**63, which is where SQLite's driver overflows; so
    each such value is sent on purpose, with the rest of the request drawn from the schema."""
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json").include(path=paths)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    calls = 0
    for operation in (result.ok() for result in schema.get_all_operations()):
        path_ids, query_ids = _int_params(operation, "path"), _int_params(operation, "query")
        if not path_ids and not query_ids:
            continue
        for value in HOSTILE_IDS:
            override: dict[str, Any] = {}
            if path_ids:
                override["path_parameters"] = dict.fromkeys(path_ids, value)
            if query_ids:
                override["query"] = dict.fromkeys(query_ids, value)

            @hypothesis.settings(
                max_examples=1, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @hypothesis.given(case=operation.as_strategy(**override))
            def run(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=url, headers=headers, timeout=15)
                if response.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text}")

            run()
    return failures, calls


async def test_hostile_ids_get_4xx(client: httpx.AsyncClient, package_fuzz_server: tuple[LiveServer, str]):
    server, token = package_fuzz_server
    failures, calls = await asyncio.to_thread(_hostile_ids, server.url, token, package_paths(client))
    log = server.log.read_text() if failures else ""
    assert failures == [], "\n".join(failures[:30]) + "\n" + log[-4000:]
    assert calls > 50


async def test_package_routes_never_answer_5xx(client: httpx.AsyncClient, package_fuzz_server: tuple[LiveServer, str]):
    server, token = package_fuzz_server
    paths = package_paths(client)
    assert "/api/v1/kb/suggest" in paths and "/api/v1/sla-policies/{policy_id}" in paths
    failures, calls, _covered = await asyncio.to_thread(_fuzz, server.url, token, paths)
    log = server.log.read_text() if failures else ""
    assert failures == [], "\n".join(failures[:20]) + "\n" + log[-4000:]
    assert calls > 50
