"""Article and category rules: drafts, publishing (a frozen version + the search index in one
transaction), unpublishing, deletion, and what the public help center may read."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
from litestar.exceptions import ClientException, NotFoundException
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import session_scope, utcnow
from hub.sanitize import html_to_text
from knowledge_base.markdown import render_markdown, slugify
from knowledge_base.models import KbArticle, KbArticleVersion, KbCategory
from knowledge_base.schemas import ArticleIn, ArticleOut, ArticlePatch, CategoryIn, CategoryOut, CategoryPatch
from knowledge_base.search import SearchDoc, database_backend, external_backend

log = logging.getLogger("knowledge_base")


class Conflict(ClientException):
    status_code = 409


MAX_ID = 2**63 - 1


def reject_nul(data: msgspec.Struct) -> None:
    """Databases refuse NUL characters in text; say so instead of failing on the insert."""
    for field in data.__struct_fields__:
        value = getattr(data, field)
        if isinstance(value, str) and "\x00" in value:
            raise ClientException(f"The field {field!r} contains a NUL character; remove it and try again.")


def article_path(locale: str, slug: str) -> str:
    return f"/help/{locale}/articles/{slug}"


def category_path(locale: str, slug: str) -> str:
    return f"/help/{locale}/categories/{slug}"


# ---- categories -------------------------------------------------------------------------------------


async def list_categories(locale: str | None = None) -> list[CategoryOut]:
    async with session_scope() as session:
        counts = (
            select(KbArticle.category_id, func.count(KbArticle.id).label("n"))
            .where(KbArticle.status == "published")
            .group_by(KbArticle.category_id)
            .subquery()
        )
        query = (
            select(KbCategory, func.coalesce(counts.c.n, 0))
            .outerjoin(counts, counts.c.category_id == KbCategory.id)
            .order_by(KbCategory.locale, KbCategory.position, KbCategory.name)
        )
        if locale:
            query = query.where(KbCategory.locale == locale)
        rows = (await session.execute(query)).all()
    return [category_out(c, int(n)) for c, n in rows]


def category_out(c: KbCategory, published: int = 0) -> CategoryOut:
    return CategoryOut(
        id=c.id,
        locale=c.locale,
        slug=c.slug,
        name=c.name,
        description=c.description,
        position=c.position,
        published_articles=published,
        public_url=category_path(c.locale, c.slug),
    )


async def create_category(data: CategoryIn) -> CategoryOut:
    reject_nul(data)
    category = KbCategory(
        name=data.name.strip(),
        slug=data.slug or slugify(data.name),
        locale=data.locale,
        description=data.description,
        position=data.position,
    )
    try:
        async with session_scope() as session:
            session.add(category)
    except IntegrityError as exc:
        raise Conflict(
            f"A {data.locale} category with slug {category.slug!r} exists already; choose another slug."
        ) from exc
    return category_out(category)


async def update_category(category_id: int, data: CategoryPatch) -> CategoryOut:
    reject_nul(data)
    try:
        async with session_scope() as session:
            category = await _category(session, category_id)
            for field in data.__struct_fields__:
                value = getattr(data, field)
                if value is not msgspec.UNSET:
                    setattr(category, field, value)
            locale_changed = data.locale is not msgspec.UNSET
            await session.flush()
            affected = await _reindex_category(session, category.id) if locale_changed else []
    except IntegrityError as exc:
        raise Conflict("Another category in that locale has this slug; choose another slug.") from exc
    for article_id in affected:
        await _sync_external(article_id)
    return category_out(category)


async def delete_category(category_id: int) -> None:
    async with session_scope() as session:
        category = await _category(session, category_id)
        await session.delete(category)
        await session.flush()
        affected = await _reindex_category(session, None, former=category_id)
    for article_id in affected:
        await _sync_external(article_id)


async def _category(session: AsyncSession, category_id: int) -> KbCategory:
    category = await session.get(KbCategory, category_id) if 0 < category_id <= MAX_ID else None
    if category is None:
        raise NotFoundException(f"No knowledge-base category {category_id}.")
    return category


async def _reindex_category(session: AsyncSession, category_id: int | None, former: int | None = None) -> list[int]:
    """Search documents carry the category id: refresh them when a category moves or goes."""
    column = KbArticle.category_id
    ids = (
        await session.execute(
            select(KbArticle.id).where(
                KbArticle.status == "published", column == (former if former is not None else category_id)
            )
        )
    ).scalars()
    affected = list(ids)
    for article_id in affected:
        await _index_published(session, article_id)
    return affected


# ---- articles ---------------------------------------------------------------------------------------


async def article_out(session: AsyncSession, article: KbArticle, base_url: str = "") -> ArticleOut:
    version: KbArticleVersion | None = None
    if article.published_version_id is not None:
        version = await session.get(KbArticleVersion, article.published_version_id)
    changed = version is None or (version.title, version.description, version.body_md) != (
        article.title,
        article.description,
        article.body_md,
    )
    return ArticleOut(
        id=article.id,
        locale=article.locale,
        slug=article.slug,
        title=article.title,
        description=article.description,
        body_md=article.body_md,
        status=article.status,
        category_id=article.category_id,
        translation_group=article.translation_group,
        position=article.position,
        published_version=version.number if version else None,
        published_at=article.published_at,
        has_unpublished_changes=changed,
        view_count=article.view_count,
        helpful_count=article.helpful_count,
        not_helpful_count=article.not_helpful_count,
        public_url=base_url + article_path(article.locale, article.slug) if article.status == "published" else None,
        created_at=article.created_at,
        updated_at=article.updated_at,
    )


async def list_articles(
    *,
    locale: str | None = None,
    category_id: int | None = None,
    status: str | None = None,
    cursor: int | None = None,
    limit: int = 50,
    base_url: str = "",
) -> tuple[list[ArticleOut], int | None]:
    async with session_scope() as session:
        query = select(KbArticle).order_by(KbArticle.id.desc()).limit(limit + 1)
        if locale:
            query = query.where(KbArticle.locale == locale)
        if category_id is not None:
            query = query.where(KbArticle.category_id == category_id)
        if status:
            query = query.where(KbArticle.status == status)
        if cursor:
            query = query.where(KbArticle.id < cursor)
        rows = list((await session.execute(query)).scalars())
        more = len(rows) > limit
        rows = rows[:limit]
        items = [await article_out(session, a, base_url) for a in rows]
    return items, (rows[-1].id if more and rows else None)


async def get_article(article_id: int, base_url: str = "") -> ArticleOut:
    async with session_scope() as session:
        return await article_out(session, await _article(session, article_id), base_url)


async def _article(session: AsyncSession, article_id: int) -> KbArticle:
    article = await session.get(KbArticle, article_id) if 0 < article_id <= MAX_ID else None
    if article is None:
        raise NotFoundException(f"No knowledge-base article {article_id}.")
    return article


async def _check_category(session: AsyncSession, category_id: int | None, locale: str) -> None:
    if category_id is None:
        return
    category = await session.get(KbCategory, category_id)
    if category is None:
        raise ClientException(f"Category {category_id} does not exist; create it first or leave category_id out.")
    if category.locale != locale:
        raise ClientException(
            f"Category {category_id} is for locale {category.locale!r}, the article is {locale!r}; "
            "pick a category of the same locale."
        )


async def create_article(data: ArticleIn, author_id: int | None, base_url: str = "") -> ArticleOut:
    reject_nul(data)
    slug = data.slug or slugify(data.title)
    try:
        async with session_scope() as session:
            await _check_category(session, data.category_id, data.locale)
            article = KbArticle(
                title=data.title.strip(),
                body_md=data.body_md,
                description=data.description.strip(),
                locale=data.locale,
                slug=slug,
                category_id=data.category_id,
                translation_group=data.translation_group,
                position=data.position,
                status="draft",
                author_id=author_id,
            )
            session.add(article)
            await session.flush()
            if data.publish:
                await _publish(session, article, author_id)
            out = await article_out(session, article, base_url)
    except IntegrityError as exc:
        raise Conflict(f"A {data.locale} article with slug {slug!r} exists already; choose another slug.") from exc
    if data.publish:
        await _sync_external(article.id)
    return out


async def update_article(article_id: int, data: ArticlePatch, base_url: str = "") -> ArticleOut:
    """Edits the draft. Slug, locale and category are not versioned: they apply at once (and to search)."""
    reject_nul(data)
    try:
        async with session_scope() as session:
            article = await _article(session, article_id)
            for field in data.__struct_fields__:
                value = getattr(data, field)
                if value is not msgspec.UNSET:
                    setattr(article, field, value.strip() if field in ("title", "description") else value)
            await _check_category(session, article.category_id, article.locale)
            await session.flush()
            published = article.status == "published"
            if published:
                await _index_published(session, article.id)
            out = await article_out(session, article, base_url)
    except IntegrityError as exc:
        raise Conflict("Another article in that locale has this slug; choose another slug.") from exc
    if published:
        await _sync_external(article_id)
    return out


async def publish_article(article_id: int, user_id: int | None, base_url: str = "") -> ArticleOut:
    async with session_scope() as session:
        article = await _article(session, article_id)
        await _publish(session, article, user_id)
        out = await article_out(session, article, base_url)
    await _sync_external(article_id)
    return out


async def _publish(session: AsyncSession, article: KbArticle, user_id: int | None) -> None:
    if not article.title.strip():
        raise ClientException("An article needs a title before it can be published.")
    current = (
        await session.execute(
            select(func.max(KbArticleVersion.number)).where(KbArticleVersion.article_id == article.id)
        )
    ).scalar_one_or_none() or 0
    html = render_markdown(article.body_md)
    version = KbArticleVersion(
        article_id=article.id,
        number=current + 1,
        title=article.title,
        description=article.description,
        body_md=article.body_md,
        body_html=html,
        body_text=html_to_text(html),
        created_by_id=user_id,
    )
    session.add(version)
    await session.flush()
    article.published_version_id = version.id
    article.status = "published"
    article.published_at = utcnow()
    await session.flush()
    await _index_published(session, article.id)


async def unpublish_article(article_id: int, base_url: str = "") -> ArticleOut:
    async with session_scope() as session:
        article = await _article(session, article_id)
        article.status = "draft"
        await session.flush()
        await database_backend().delete_in(session, [article.id])
        out = await article_out(session, article, base_url)
    await _sync_external(article_id)
    return out


async def delete_article(article_id: int) -> None:
    async with session_scope() as session:
        article = await _article(session, article_id)
        await database_backend().delete_in(session, [article.id])
        await session.delete(article)
    await _sync_external(article_id)


async def list_versions(article_id: int) -> list[KbArticleVersion]:
    async with session_scope() as session:
        await _article(session, article_id)
        query = (
            select(KbArticleVersion)
            .where(KbArticleVersion.article_id == article_id)
            .order_by(KbArticleVersion.number.desc())
        )
        return list((await session.execute(query)).scalars())


# ---- search documents -------------------------------------------------------------------------------


async def search_doc(session: AsyncSession, article_id: int) -> SearchDoc | None:
    """The searchable state of an article: its published version, or None when it is not published."""
    row = (
        await session.execute(
            select(KbArticle, KbArticleVersion)
            .join(KbArticleVersion, KbArticleVersion.id == KbArticle.published_version_id)
            .where(KbArticle.id == article_id, KbArticle.status == "published")
        )
    ).first()
    if row is None:
        return None
    article, version = row
    return SearchDoc(
        article_id=article.id,
        locale=article.locale,
        category_id=article.category_id,
        slug=article.slug,
        title=version.title,
        description=version.description,
        body=version.body_text,
    )


async def _index_published(session: AsyncSession, article_id: int) -> None:
    doc = await search_doc(session, article_id)
    if doc is None:
        await database_backend().delete_in(session, [article_id])
    else:
        await database_backend().upsert_in(session, [doc])


async def _sync_external(article_id: int) -> None:
    """After commit: push the article's state to Meilisearch through the job queue (retried on failure)."""
    if external_backend() is None:
        return
    from hub.jobs import enqueue

    try:
        await enqueue("kb.meili_sync", key=f"kb-sync-{article_id}", article_id=article_id)
    except Exception:  # the sweeper-free fallback is `hub kb reindex`
        log.exception("could not enqueue the search sync of article %s", article_id)


async def all_search_docs() -> list[SearchDoc]:
    async with session_scope() as session:
        rows = (
            await session.execute(
                select(KbArticle, KbArticleVersion)
                .join(KbArticleVersion, KbArticleVersion.id == KbArticle.published_version_id)
                .where(KbArticle.status == "published")
                .order_by(KbArticle.id)
            )
        ).all()
    return [
        SearchDoc(
            article_id=a.id,
            locale=a.locale,
            category_id=a.category_id,
            slug=a.slug,
            title=v.title,
            description=v.description,
            body=v.body_text,
        )
        for a, v in rows
    ]


async def reindex(target: Any = None, batch: int = 500) -> int:
    """Rebuild a backend's index (and the database's own tables) from the published articles."""
    docs = await all_search_docs()
    db = database_backend()
    await db.clear()
    for start in range(0, len(docs), batch):
        await db.upsert(docs[start : start + batch])
    backends: Sequence[Any] = [target] if target is not None else [b for b in [external_backend()] if b]
    for backend in backends:
        if hasattr(backend, "ensure_index"):
            await backend.ensure_index()
        await backend.clear()
        for start in range(0, len(docs), batch):
            await backend.upsert(docs[start : start + batch])
    return len(docs)


async def increment(article_id: int, column: str, by: int = 1) -> None:
    async with session_scope() as session:
        await session.execute(
            update(KbArticle)
            .where(KbArticle.id == article_id)
            .values({column: getattr(KbArticle, column) + by})
            .execution_options(synchronize_session=False)
        )
