"""What the public help center may read (published versions only), and what readers leave behind:
views, helpful votes and widget deflections."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, select, update

from hub.db import session_scope
from knowledge_base.models import KbArticle, KbArticleVersion, KbCategory, KbDeflection, KbVote


@dataclass
class ArticleCard:
    id: int
    slug: str
    title: str
    description: str
    locale: str
    updated_at: datetime | None


@dataclass
class CategoryBlock:
    category: KbCategory | None
    articles: list[ArticleCard] = field(default_factory=list)


@dataclass
class ArticlePage:
    article: KbArticle
    version: KbArticleVersion
    category: KbCategory | None
    translations: list[tuple[str, str]]  # (locale, slug) of the same article in other locales
    related: list[ArticleCard]


def _card(article: KbArticle, version: KbArticleVersion) -> ArticleCard:
    return ArticleCard(article.id, article.slug, version.title, version.description, article.locale, version.created_at)


def _published() -> Select[KbArticle, KbArticleVersion]:
    return (
        select(KbArticle, KbArticleVersion)
        .join(KbArticleVersion, KbArticleVersion.id == KbArticle.published_version_id)
        .where(KbArticle.status == "published")
    )


async def published_locales() -> list[str]:
    async with session_scope() as session:
        rows = await session.execute(
            select(KbArticle.locale).where(KbArticle.status == "published").group_by(KbArticle.locale)
        )
        return sorted(r[0] for r in rows)


async def home(locale: str, per_category: int = 8) -> list[CategoryBlock]:
    async with session_scope() as session:
        categories = list(
            (
                await session.execute(
                    select(KbCategory).where(KbCategory.locale == locale).order_by(KbCategory.position, KbCategory.name)
                )
            ).scalars()
        )
        rows = (
            await session.execute(
                _published()
                .where(KbArticle.locale == locale)
                .order_by(KbArticle.position, KbArticle.view_count.desc(), KbArticle.id)
            )
        ).all()
    blocks: dict[int | None, CategoryBlock] = {c.id: CategoryBlock(c) for c in categories}
    loose = CategoryBlock(None)
    for article, version in rows:
        block = blocks.get(article.category_id, loose)
        if len(block.articles) < per_category:
            block.articles.append(_card(article, version))
    out = [b for b in blocks.values() if b.articles]
    if loose.articles:
        out.append(loose)
    return out


async def category_page(locale: str, slug: str) -> tuple[KbCategory, list[ArticleCard]] | None:
    async with session_scope() as session:
        category = (
            await session.execute(select(KbCategory).where(KbCategory.locale == locale, KbCategory.slug == slug))
        ).scalar_one_or_none()
        if category is None:
            return None
        rows = (
            await session.execute(
                _published().where(KbArticle.category_id == category.id).order_by(KbArticle.position, KbArticle.id)
            )
        ).all()
    return category, [_card(a, v) for a, v in rows]


async def article_page(locale: str, slug: str) -> ArticlePage | None:
    async with session_scope() as session:
        row = (await session.execute(_published().where(KbArticle.locale == locale, KbArticle.slug == slug))).first()
        if row is None:
            return None
        article, version = row
        category = await session.get(KbCategory, article.category_id) if article.category_id else None
        translations: list[tuple[str, str]] = []
        if article.translation_group:
            translations = [
                (a.locale, a.slug)
                for a in (
                    await session.execute(
                        select(KbArticle).where(
                            KbArticle.translation_group == article.translation_group,
                            KbArticle.status == "published",
                            KbArticle.id != article.id,
                        )
                    )
                ).scalars()
            ]
        related: list[ArticleCard] = []
        if article.category_id:
            related = [
                _card(a, v)
                for a, v in (
                    await session.execute(
                        _published()
                        .where(KbArticle.category_id == article.category_id, KbArticle.id != article.id)
                        .order_by(KbArticle.position, KbArticle.view_count.desc())
                        .limit(5)
                    )
                ).all()
            ]
    return ArticlePage(article, version, category, translations, related)


async def sitemap_entries() -> tuple[list[tuple[str, str, datetime]], list[tuple[str, str]]]:
    """(locale, slug, last modified) of every published article, and (locale, slug) of non-empty categories."""
    async with session_scope() as session:
        articles = [
            (a.locale, a.slug, v.created_at)
            for a, v in (await session.execute(_published().order_by(KbArticle.locale, KbArticle.id))).all()
        ]
        categories = [
            (c.locale, c.slug)
            for c in (
                await session.execute(
                    select(KbCategory).where(
                        select(func.count(KbArticle.id))
                        .where(KbArticle.category_id == KbCategory.id, KbArticle.status == "published")
                        .scalar_subquery()
                        > 0
                    )
                )
            ).scalars()
        ]
    return articles, categories


async def record_view(article_id: int, *, from_widget: bool = False, inbox_id: int | None = None) -> None:
    """Count a view; a view opened from a widget suggestion is also a deflection."""
    async with session_scope() as session:
        await session.execute(
            update(KbArticle)
            .where(KbArticle.id == article_id)
            .values(view_count=KbArticle.view_count + 1)
            .execution_options(synchronize_session=False)
        )
        if from_widget:
            session.add(KbDeflection(article_id=article_id, inbox_id=inbox_id, source="widget"))


def voter_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def vote(article_id: int, voter: str, helpful: bool) -> None:
    """One vote per reader per article; voting again changes the vote (and the counters) instead of adding."""
    key = voter_key(voter)
    async with session_scope() as session:
        existing = (
            await session.execute(select(KbVote).where(KbVote.article_id == article_id, KbVote.voter == key))
        ).scalar_one_or_none()
        if existing is not None and existing.helpful == helpful:
            return
        values: dict[str, object] = {}
        if existing is not None:
            existing.helpful = helpful
            old = "not_helpful_count" if helpful else "helpful_count"
            values[old] = getattr(KbArticle, old) - 1
        else:
            session.add(KbVote(article_id=article_id, voter=key, helpful=helpful))
        new = "helpful_count" if helpful else "not_helpful_count"
        values[new] = getattr(KbArticle, new) + 1
        await session.execute(
            update(KbArticle)
            .where(KbArticle.id == article_id)
            .values(values)
            .execution_options(synchronize_session=False)
        )


async def deflection_count(article_id: int | None = None) -> int:
    async with session_scope() as session:
        query = select(func.count(KbDeflection.id))
        if article_id is not None:
            query = query.where(KbDeflection.article_id == article_id)
        return int((await session.execute(query)).scalar_one())
