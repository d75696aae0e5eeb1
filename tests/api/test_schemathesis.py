"""A bounded Schemathesis run over the kernel API's OpenAPI schema: whatever it sends, never a 5xx.

It runs against a private server (see tests/api/fuzz.py), signed in as an admin with a bearer token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.api.fuzz import fuzz, private_server
from tests.api.test_permissions import TABLE
from tests.conftest import LiveServer
from tests.stacks import Stack

BUDGET_SECONDS = 15.0
EXAMPLES = 4
# Exactly the kernel API's routes (the permission table lists them); other packages have their own run.
KERNEL_PATHS = sorted({key.split(" ", 1)[1] for key in TABLE})


@pytest.fixture(scope="module")
async def fuzz_server(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LiveServer, str]]:
    async with private_server(stack, tmp_path_factory.mktemp("fuzz")) as served:
        yield served


async def test_no_server_errors_whatever_is_sent(fuzz_server: tuple[LiveServer, str]):
    server, token = fuzz_server
    failures, calls, _covered = await asyncio.to_thread(
        fuzz, server.url, token, KERNEL_PATHS, budget=BUDGET_SECONDS, examples=EXAMPLES, min_operations=20
    )
    log = server.log.read_text() if failures else ""
    assert failures == [], "\n".join(failures[:20]) + "\n" + log[-4000:]
    assert calls > 50
