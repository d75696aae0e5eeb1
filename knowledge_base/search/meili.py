"""The production backend: Meilisearch through the official async client, when MEILISEARCH_URL is set.

One index (`kb_articles` by default) holds published articles; `locale`, `category_id` and `published`
are filterable so one index serves every locale. The database stays the source of truth: publishing writes
the database (and its own full-text tables) and then enqueues `kb.meili_sync`, which pushes the article's
current state here; `hub kb reindex` rebuilds the whole index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.models.settings import MeilisearchSettings, TypoTolerance

from knowledge_base.search.base import SearchDoc, SearchHit, query_terms, snippet_of
from knowledge_base.search.synonyms import meili_synonyms

INDEX_SETTINGS = MeilisearchSettings(
    searchable_attributes=["title", "description", "body"],
    filterable_attributes=["locale", "category_id", "published"],
    displayed_attributes=["id", "slug", "title", "locale", "category_id", "description", "body"],
    typo_tolerance=TypoTolerance(enabled=True),
    synonyms=meili_synonyms(),
)


class MeiliSearch:
    name = "meilisearch"

    def __init__(self, url: str, api_key: str = "", index_uid: str = "kb_articles", timeout_ms: int = 10_000):
        self.url = url
        self.api_key = api_key or None
        self.index_uid = index_uid
        self.timeout_ms = timeout_ms
        self._client: AsyncClient | None = None

    @property
    def client(self) -> AsyncClient:
        if self._client is None:
            self._client = AsyncClient(self.url, self.api_key, timeout=10)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def ensure_index(self) -> None:
        """Create the index if needed and apply the settings (idempotent; waits for Meilisearch)."""
        index = await self.client.get_or_create_index(self.index_uid, primary_key="id")
        task = await index.update_settings(INDEX_SETTINGS)
        await self.client.wait_for_task(task.task_uid, timeout_in_ms=self.timeout_ms, raise_for_status=True)

    async def _wait(self, task_uid: int) -> None:
        await self.client.wait_for_task(task_uid, timeout_in_ms=self.timeout_ms, raise_for_status=True)

    async def upsert(self, docs: Sequence[SearchDoc]) -> None:
        if not docs:
            return
        index = self.client.index(self.index_uid)
        task = await index.add_documents([_document(d) for d in docs], primary_key="id")
        await self._wait(task.task_uid)

    async def delete(self, article_ids: Sequence[int]) -> None:
        if not article_ids:
            return
        task = await self.client.index(self.index_uid).delete_documents([str(i) for i in article_ids])
        await self._wait(task.task_uid)

    async def clear(self) -> None:
        task = await self.client.index(self.index_uid).delete_all_documents()
        await self._wait(task.task_uid)

    async def search(
        self, query: str, *, locale: str, category_id: int | None = None, limit: int = 10
    ) -> list[SearchHit]:
        if not query_terms(query) or limit <= 0:
            return []
        filters = [f"locale = {_quote(locale)}", "published = true"]
        if category_id is not None:
            filters.append(f"category_id = {int(category_id)}")
        result = await self.client.index(self.index_uid).search(
            query[:200],
            limit=min(limit, 100),
            filter=" AND ".join(filters),
            matching_strategy="last",
            show_ranking_score=True,
        )
        return [_hit(h) for h in result.hits]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _document(doc: SearchDoc) -> dict[str, Any]:
    return {
        "id": doc.article_id,
        "locale": doc.locale,
        "category_id": doc.category_id,
        "slug": doc.slug,
        "title": doc.title,
        "description": doc.description,
        "body": doc.body,
        "published": True,
    }


def _hit(hit: dict[str, Any]) -> SearchHit:
    return SearchHit(
        article_id=int(hit["id"]),
        slug=str(hit["slug"]),
        title=str(hit["title"]),
        locale=str(hit["locale"]),
        category_id=hit.get("category_id"),
        snippet=snippet_of(str(hit.get("description") or ""), str(hit.get("body") or "")),
        score=float(hit.get("_rankingScore") or 0.0),
    )
