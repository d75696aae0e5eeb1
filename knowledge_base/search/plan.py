"""The query plan both database dialects share: pure functions, no I/O.

Words are folded and stopwords dropped (`base.query_terms`); each word becomes a *group*: the word (the
last one also as a prefix, since it may be half-typed) OR its typo corrections OR its synonyms. Like
Meilisearch's "frequency" matching strategy, the rarest groups *select* the candidates (at most
`CANDIDATE_BUDGET` rows by document frequency) while every group still counts in the *ranking*; when even
the rarest group is everywhere ("crowded"), candidates come from titles and descriptions (the newest
`CROWDED_CANDIDATES` of them), and bodies are searched only if no title or description matches.
"""

from __future__ import annotations

import math
import time

from knowledge_base.search.base import allowed_typos, edit_distance
from knowledge_base.search.synonyms import expansions

CANDIDATE_BUDGET = 400
CROWDED_CANDIDATES = 200
DENSE_SHARE = 0.05  # a word in at least this share of rows is found quickly by walking the newest rows
DF_CAP = CANDIDATE_BUDGET * 5 // 2  # document counts stop here: beyond it a word is simply common
DF_TTL_SECONDS = 60.0

_df_cache: dict[tuple[str, str, str], tuple[float, int]] = {}
_correction_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def cached_df(key: tuple[str, str, str]) -> int | None:
    hit = _df_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def remember_df(key: tuple[str, str, str], count: int) -> None:
    """Zero is never cached, so an article published a moment ago is found at once by every process;
    other counts only steer candidate selection and idf, where a minute's staleness does not matter."""
    if count <= 0:
        return
    if len(_df_cache) > 20_000:
        _df_cache.clear()
    _df_cache[key] = (time.monotonic() + DF_TTL_SECONDS, count)


def forget_dfs() -> None:
    _df_cache.clear()
    _correction_cache.clear()


def cached_corrections(key: tuple[str, str]) -> list[str] | None:
    """Corrections of a word (an empty list: the word is known, or nothing is close), for a minute; the
    original word is always searched too, so a stale entry can only miss a brand-new spelling."""
    hit = _correction_cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def remember_corrections(key: tuple[str, str], words: list[str]) -> None:
    if len(_correction_cache) > 20_000:
        _correction_cache.clear()
    _correction_cache[key] = (time.monotonic() + DF_TTL_SECONDS, words)


def best_corrections(term: str, candidates: list[str]) -> list[str]:
    """Known words within the allowed edit distance of `term` (or whose beginning is, for a half-typed
    word), closest first, at most three."""
    budget = allowed_typos(term)
    scored = []
    for cand in candidates:
        if cand == term:
            continue
        distance = edit_distance(term, cand, budget)
        if len(cand) > len(term):
            distance = min(distance, edit_distance(term, cand[: len(term)], budget))
        if distance <= budget:
            scored.append((distance, abs(len(cand) - len(term)), cand))
    scored.sort()
    return [c for _, _, c in scored[:3]]


def alternatives(terms: list[str], corrections: dict[str, list[str]]) -> list[tuple[str, bool, list[str]]]:
    """Per word: (word, is_prefix, other words that count as it)."""
    out = []
    for i, term in enumerate(terms):
        prefix = i == len(terms) - 1 and len(term) >= 2
        others = [c for c in corrections.get(term, []) if c != term]
        others += [s for s in expansions(term) if s != term and s not in others]
        out.append((term, prefix, others))
    return out


def drivers(dfs: list[int]) -> tuple[list[int], bool]:
    """The rarest groups whose matches fit the candidate budget (at least one), and whether the budget is
    blown anyway (every word is common: candidates then come from titles and descriptions)."""
    chosen: list[int] = []
    total = 0
    for i in sorted(range(len(dfs)), key=lambda j: dfs[j]):
        if dfs[i] == 0:
            continue
        if chosen and total + dfs[i] > CANDIDATE_BUDGET:
            break
        chosen.append(i)
        total += dfs[i]
    return chosen, total > CANDIDATE_BUDGET


def idf(total: int, df: int) -> float:
    """BM25's idf, never below a small positive weight (counts may be capped or a little stale)."""
    return max(math.log(1 + (total - df + 0.5) / (df + 0.5)), 0.01)
