"""Search backends behind `SearchBackend`; `get_backend()` picks Meilisearch when MEILISEARCH_URL is set."""

from __future__ import annotations

from knowledge_base.search.base import SearchBackend, SearchDoc, SearchHit
from knowledge_base.search.database import DatabaseSearch

_database = DatabaseSearch()
_backend: SearchBackend | None = None


def database_backend() -> DatabaseSearch:
    return _database


def external_backend() -> SearchBackend | None:
    """Meilisearch when configured (it is fed by jobs); None on the embedded default."""
    backend = get_backend()
    return None if backend is _database else backend


def get_backend() -> SearchBackend:
    global _backend
    if _backend is None:
        from hub.settings import get_settings

        settings = get_settings()
        if settings.meilisearch_url:
            from knowledge_base.search.meili import MeiliSearch

            _backend = MeiliSearch(settings.meilisearch_url, settings.meilisearch_api_key)
        else:
            _backend = _database
    return _backend


def set_backend(backend: SearchBackend | None) -> None:
    global _backend
    _backend = backend


__all__ = ["DatabaseSearch", "SearchBackend", "SearchDoc", "SearchHit", "database_backend", "get_backend"]
