"""The one interface every search backend implements, and the query handling they share.

Backends index `SearchDoc`s (published articles only) and answer `search()` with `SearchHit`s ranked best
first, filtered to one locale (and optionally one category). The contract suite
`tests/knowledge_base/test_search_contract.py` runs the same expectations against every backend:
ranking, prefix matching while typing, typo tolerance, filters, deletes, hostile input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import msgspec


class SearchDoc(msgspec.Struct, frozen=True):
    article_id: int
    locale: str
    category_id: int | None
    slug: str
    title: str
    description: str
    body: str


class SearchHit(msgspec.Struct, frozen=True):
    article_id: int
    slug: str
    title: str
    locale: str
    category_id: int | None
    snippet: str
    score: float


@runtime_checkable
class SearchBackend(Protocol):
    name: str

    async def upsert(self, docs: Sequence[SearchDoc]) -> None:
        """Add or replace documents (by article id)."""

    async def delete(self, article_ids: Sequence[int]) -> None:
        """Remove documents; unknown ids are ignored."""

    async def clear(self) -> None:
        """Remove every document (before a full reindex)."""

    async def search(
        self, query: str, *, locale: str, category_id: int | None = None, limit: int = 10
    ) -> list[SearchHit]:
        """Published articles in `locale` matching `query`, best first; [] for an empty query."""


MAX_QUERY_CHARS = 200
MAX_TERMS = 12

# Words that carry no meaning in a support question; dropping them keeps OR queries precise and fast.
STOPWORDS = frozenset(
    {
        "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
        "by", "can", "cannot", "could", "did", "do", "does", "doing", "for", "from", "get", "got", "had", "has",
        "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into", "is", "it",
        "its", "just", "me", "my", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "our", "out", "own",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these",
        "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we", "were", "what",
        "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
        "le", "la", "les", "un", "une", "des", "du", "de", "et", "est", "pour", "dans", "der", "die", "das", "und",
        "ist", "ein", "eine", "el", "los", "las", "y", "en", "por", "con",
    }
)  # fmt: skip

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lowercase with accents removed, as the indexes see words."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def query_terms(query: str) -> list[str]:
    """The words of a query worth searching for: folded, de-duplicated, stopwords dropped (unless that
    leaves nothing), capped so a pasted essay cannot make a slow query."""
    words = _WORD.findall(fold(query[:MAX_QUERY_CHARS]))
    words = [w.replace("_", "") for w in words if w.replace("_", "")]
    kept = [w for w in words if w not in STOPWORDS] or words
    seen: dict[str, None] = {}
    for word in kept:
        seen.setdefault(word[:64], None)
    return list(seen)[:MAX_TERMS]


def document_terms(doc: SearchDoc) -> set[str]:
    """Distinct words of a document, for the typo-correction vocabulary."""
    text = fold(f"{doc.title} {doc.description} {doc.body}")
    return {w for w in _WORD.findall(text) if 3 <= len(w) <= 40 and not w.isdigit() and "_" not in w}


def normalise_query(query: str) -> str:
    """How a query is stored in the misses report: folded words joined by single spaces."""
    return " ".join(_WORD.findall(fold(query)))[:MAX_QUERY_CHARS]


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, giving up once it passes `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def allowed_typos(word: str) -> int:
    """Close to Meilisearch's defaults: none under 4 letters, one up to 8, two beyond."""
    if len(word) < 5:
        return 0 if len(word) < 4 else 1
    return 1 if len(word) < 9 else 2


def snippet_of(description: str, body: str, length: int = 160) -> str:
    from knowledge_base.markdown import summarise

    return summarise(description or body, length)


def hit_of(row: Sequence[Any], score: float) -> SearchHit:
    """A database backend's result row (id, slug, title, locale, category, description, body, ...) as a hit."""
    return SearchHit(
        article_id=int(row[0]),
        slug=row[1],
        title=row[2],
        locale=row[3],
        category_id=row[4],
        snippet=snippet_of(row[5], row[6]),
        score=score,
    )
