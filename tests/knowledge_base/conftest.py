"""Fixtures for the knowledge-base tests: search backends to run the contract against, and helpers.

The database backend runs on whichever stack the session is on (SQLite FTS5 on the embedded stack,
PostgreSQL tsvector + pg_trgm on the pg stack). Meilisearch runs only when a real server answers at
HUB_TEST_MEILISEARCH_URL (or MEILISEARCH_URL); otherwise its tests skip and say why.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from knowledge_base.search import DatabaseSearch, SearchBackend

MEILI_URL = os.environ.get("HUB_TEST_MEILISEARCH_URL") or os.environ.get("MEILISEARCH_URL") or ""
MEILI_KEY = os.environ.get("HUB_TEST_MEILISEARCH_KEY") or os.environ.get("MEILISEARCH_API_KEY") or ""


def meili_unavailable_reason() -> str | None:
    if not MEILI_URL:
        return (
            "no Meilisearch server: set HUB_TEST_MEILISEARCH_URL to run the Meilisearch contract "
            "(no Meilisearch binary is packaged on PyPI or Debian for this machine, so none is started here)"
        )
    try:
        resp = httpx.get(f"{MEILI_URL.rstrip('/')}/health", timeout=2)
        if resp.status_code != 200:
            return f"Meilisearch at {MEILI_URL} answered {resp.status_code} on /health"
    except httpx.HTTPError as exc:
        return f"Meilisearch at {MEILI_URL} does not answer: {exc}"
    return None


@pytest.fixture(params=["database", "meilisearch"])
async def backend(request: pytest.FixtureRequest, client: httpx.AsyncClient) -> AsyncIterator[SearchBackend]:
    if request.param == "database":
        yield DatabaseSearch()
        return
    reason = meili_unavailable_reason()
    if reason is not None:
        print(f"SKIPPED Meilisearch contract: {reason}")
        pytest.skip(reason)
    from knowledge_base.search.meili import MeiliSearch

    meili = MeiliSearch(MEILI_URL, MEILI_KEY, index_uid=f"kb_test_{secrets.token_hex(4)}")
    await meili.ensure_index()
    try:
        yield meili
    finally:
        await meili.client.delete_index_if_exists(meili.index_uid)
        await meili.aclose()


@pytest.fixture
def locale() -> str:
    """A locale no other test uses, so documents from elsewhere in the shared database never interfere."""
    return f"en-{secrets.token_hex(3)}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="session")
async def kb_browser() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright (never a downloaded browser)."""
    import shutil

    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
