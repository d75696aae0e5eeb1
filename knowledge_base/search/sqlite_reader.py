"""SQLite FTS5 search, run synchronously in one worker-thread hop on a read-only connection.

Why not the hub's async session: the hub opens every SQLite transaction with BEGIN IMMEDIATE (so that
writers queue), which would make concurrent searches wait for each other and for writers. WAL mode lets
readers run beside a writer, so searches use their own `query_only` connections (one per thread) and do
all their small queries (vocabulary, frequencies, ranking) without returning to the event loop between
them.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from knowledge_base.search import plan
from knowledge_base.search.base import SearchHit, allowed_typos, hit_of

_SEARCH = """
SELECT d.article_id, d.slug, d.title, d.locale, d.category_id, d.description, substr(d.body, 1, 400), top.score
FROM (
  SELECT {fts}.rowid AS id, bm25({fts}, {weights}) AS score
  FROM {fts} JOIN kb_search_docs f ON f.article_id = {fts}.rowid
  WHERE {fts} MATCH :match AND f.locale = :locale AND {fts}.rowid >= :floor {category}
  ORDER BY score LIMIT :limit
) AS top JOIN kb_search_docs d ON d.article_id = top.id
ORDER BY top.score
"""
FULL = _SEARCH.replace("{fts}", "kb_search_fts").replace("{weights}", "5.0, 2.0, 1.0")
HEAD = _SEARCH.replace("{fts}", "kb_search_head_fts").replace("{weights}", "5.0, 2.0")


class SqliteReader:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._all.clear()
        self._local = threading.local()

    # -- the search, all in the calling (worker) thread ------------------------------------------------

    def search(self, terms: list[str], locale: str, category_id: int | None, limit: int) -> list[SearchHit]:
        conn = self.connection()
        corrections = self._corrections(conn, terms)
        groups = [_group(t, p, o) for t, p, o in plan.alternatives(terms, corrections)]
        dfs = [self._df(conn, g) for g in groups]
        chosen, crowded = plan.drivers(dfs)
        if not chosen:
            return []
        params: dict[str, Any] = {"locale": locale, "limit": limit, "floor": 0}
        category = ""
        if category_id is not None:
            category = "AND f.category_id = :category_id"
            params["category_id"] = category_id
        rows: list[Any] = []
        if crowded:
            # Every word is common: rank titles and descriptions (small doclists) by all the words, and
            # only the newest matches, which bounds the work.
            selected = " OR ".join(groups[i] for i in chosen)
            params["match"] = f"({selected}) AND ({' OR '.join(groups)})" if len(chosen) < len(groups) else selected
            params["floor"] = _floor(conn, "kb_search_head_fts", selected)
            rows = conn.execute(HEAD.format(category=category), params).fetchall()
        # Crowded: titles and descriptions answered; ranking thousands of bodies would not help.
        if not rows:
            selected = " OR ".join(groups[i] for i in chosen)
            # `AND (every group)` adds no matches but lets bm25 score every word for the candidates.
            params["match"] = selected if len(chosen) == len(groups) else f"({selected}) AND ({' OR '.join(groups)})"
            params["floor"] = _floor(conn, "kb_search_fts", selected) if crowded else 0
            rows = conn.execute(FULL.format(category=category), params).fetchall()
        return [hit_of(r, -float(r[7])) for r in rows]  # bm25: lower is better

    def _corrections(self, conn: sqlite3.Connection, terms: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for term in terms:
            if allowed_typos(term) == 0:
                continue
            cached = plan.cached_corrections((self.path, term))
            if cached is None:
                cached = self._correct(conn, term)
                plan.remember_corrections((self.path, term), cached)
            if cached:
                out[term] = cached
        return out

    def _correct(self, conn: sqlite3.Connection, term: str) -> list[str]:
        known = conn.execute(
            "SELECT 1 FROM kb_search_terms WHERE term >= ? AND term < ? LIMIT 1", (term, term + "\uffff")
        ).fetchone()
        if known is not None:
            return []
        grams = sorted({term[i : i + 3] for i in range(len(term) - 2)})
        match = " OR ".join(f'"{g}"' for g in grams)
        candidates = [
            r[0]
            for r in conn.execute(
                "SELECT term FROM kb_search_terms_tri WHERE kb_search_terms_tri MATCH ? ORDER BY rank LIMIT 60",
                (match,),
            )
        ]
        return plan.best_corrections(term, candidates)

    def _df(self, conn: sqlite3.Connection, group: str) -> int:
        key = (self.path, "", group)
        count = plan.cached_df(key)
        if count is None:
            sql = "SELECT count(*) FROM (SELECT 1 FROM kb_search_fts WHERE kb_search_fts MATCH ? LIMIT ?)"
            count = int(conn.execute(sql, (group, plan.DF_CAP)).fetchone()[0])
            plan.remember_df(key, count)
        return count


def _floor(conn: sqlite3.Connection, fts: str, match: str) -> int:
    """The rowid of the CROWDED_CANDIDATES-th newest match (FTS5 walks rowids backwards cheaply)."""
    row = conn.execute(
        f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",  # noqa: S608
        (match, plan.CROWDED_CANDIDATES - 1),
    ).fetchone()
    return int(row[0]) if row else 0


def _group(term: str, prefix: bool, others: list[str]) -> str:
    """An FTS5 expression for one word. Words are \\w+ only and double-quoted, so no user text can reach
    FTS5's query syntax."""
    parts = [f'"{term}"*' if prefix else f'"{term}"'] + [f'"{o}"' for o in others]
    return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
