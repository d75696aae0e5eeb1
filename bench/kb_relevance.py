"""Relevance of knowledge-base search per backend: recall@5 and MRR over the judged query set in
tests/knowledge_base/relevance/ (articles.json, queries.json), overall and per kind of query.

    .venv/bin/python bench/kb_relevance.py [--backend sqlite|postgres|meilisearch ...] [--show-misses]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from typing import Any

from kb_backends import BACKENDS, Unavailable, backend_env, load_json

from knowledge_base.markdown import markdown_to_text
from knowledge_base.search import SearchBackend, SearchDoc


def documents() -> list[SearchDoc]:
    articles = load_json("articles.json")
    categories = {c: i + 1 for i, c in enumerate(sorted({a["category"] for a in articles}))}
    return [
        SearchDoc(
            article_id=i + 1,
            locale="en",
            category_id=categories[a["category"]],
            slug=a["slug"],
            title=a["title"],
            description=a["description"],
            body=markdown_to_text(a["body_md"]),
        )
        for i, a in enumerate(articles)
    ]


async def evaluate(backend: SearchBackend, queries: list[dict[str, Any]], show_misses: bool) -> dict[str, Any]:
    per_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in queries:
        hits = await backend.search(q["query"], locale="en", limit=10)
        slugs = [h.slug for h in hits]
        relevant = set(q["relevant"])
        recall = len(relevant & set(slugs[:5])) / min(len(relevant), 5)
        rr = next((1.0 / (i + 1) for i, s in enumerate(slugs) if s in relevant), 0.0)
        per_kind[q["kind"]].append((recall, rr))
        per_kind["all"].append((recall, rr))
        if show_misses and rr < 0.5:
            print(f"    {q['kind']:8} rr={rr:.2f} {q['query']!r} -> {slugs[:3]} (want {q['relevant'][:2]})")
    return {
        kind: (sum(r for r, _ in v) / len(v), sum(m for _, m in v) / len(v), len(v)) for kind, v in per_kind.items()
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", action="append", choices=BACKENDS)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    docs = documents()
    queries = load_json("queries.json")
    print(f"relevance set: {len(docs)} articles, {len(queries)} judged queries")
    for name in args.backend or BACKENDS:
        try:
            async with backend_env(name) as backend:
                await backend.upsert(docs)
                scores = await evaluate(backend, queries, args.show_misses)
        except Unavailable as exc:
            print(f"{name:12} SKIPPED: {exc}")
            continue
        overall = scores.pop("all")
        print(f"{name:12} recall@5={overall[0]:.3f}  MRR={overall[1]:.3f}  (n={overall[2]})")
        for kind, (recall, mrr, n) in sorted(scores.items()):
            print(f"{'':12}   {kind:8} recall@5={recall:.3f}  MRR={mrr:.3f}  (n={n})")


if __name__ == "__main__":
    asyncio.run(main())
