"""Rebuilding the search index from the published articles, in-process and through `hub kb reindex`;
and searching on when the external backend is down."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from knowledge_base import finder, service
from knowledge_base.search import database_backend, get_backend, set_backend
from knowledge_base.search.meili import MeiliSearch
from tests.factories import auth_headers, make_user
from tests.stacks import free_port

ROOT = Path(__file__).resolve().parents[2]


async def test_reindex_rebuilds_the_database_index(client: httpx.AsyncClient) -> None:
    h = await auth_headers(await make_user("manager"))
    locale = f"en-{secrets.token_hex(3)}"
    resp = await client.post(
        "/api/v1/kb/articles",
        json={"title": "Rotate signing secrets", "body_md": "Rotate them yearly.", "locale": locale, "publish": True},
        headers=h,
    )
    assert resp.status_code == 201
    await database_backend().clear()
    assert await database_backend().search("rotate", locale=locale) == []
    count = await service.reindex()
    assert count >= 1
    hits = await database_backend().search("rotate secrets", locale=locale)
    assert [h.article_id for h in hits] == [resp.json()["id"]]


async def test_search_falls_back_to_the_database_when_meilisearch_is_down(client: httpx.AsyncClient) -> None:
    h = await auth_headers(await make_user("manager"))
    locale = f"en-{secrets.token_hex(3)}"
    await client.post(
        "/api/v1/kb/articles",
        json={"title": "Export invoices", "body_md": "As PDF.", "locale": locale, "publish": True},
        headers=h,
    )
    previous = get_backend()
    down = MeiliSearch(f"http://127.0.0.1:{free_port()}")
    set_backend(down)
    try:
        hits = await finder.search("invoices", locale=locale)
        assert [x.title for x in hits] == ["Export invoices"]
    finally:
        await down.aclose()
        set_backend(previous)


def test_hub_kb_reindex_command(stack: Any) -> None:
    if stack.is_pg:
        pytest.skip("the command is the same on both stacks; run once (it starts a whole `hub` process)")
    env = {**os.environ, **stack.env}
    env.pop("MEILISEARCH_URL", None)
    env.pop("HUB_MEILISEARCH_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", "from hub.cli import main; main()", "kb", "reindex"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Reindexed" in result.stdout and "published articles" in result.stdout
