"""A bounded Schemathesis run over the ticketing and knowledge-base operations under /api/v1: never a 5xx.

The kernel's own run (`test_schemathesis.py`) covers exactly the kernel routes; this one covers the routes
that ticketing and knowledge_base add (rules, SLA, business hours, canned responses, macros, automation,
assignment, reports, articles, categories, search and suggestions). Same setup: a real server on a private
database of the stack's kind, signed in as an admin with a far-away id, small ids pointing at real rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase

from tests.api.fuzz import fuzz, private_server
from tests.api.test_permissions import app_of, http_routes
from tests.conftest import LiveServer
from tests.stacks import Stack

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


@pytest.fixture(scope="module")
async def package_fuzz_server(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[LiveServer, str]]:
    async with private_server(stack, tmp_path_factory.mktemp("fuzz-all")) as served:
        yield served


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
    failures, calls, _covered = await asyncio.to_thread(
        fuzz, server.url, token, paths, budget=BUDGET_SECONDS, examples=EXAMPLES, ids_first=True
    )
    log = server.log.read_text() if failures else ""
    assert failures == [], "\n".join(failures[:20]) + "\n" + log[-4000:]
    assert calls > 50
