"""REST endpoints: /api/v1/kb (agents read, managers and admins write), the public help search and the
widget's suggestions. Thin: validation by msgspec structs, rules in `service`, search in `finder`."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.exceptions import NotFoundException
from litestar.params import Body, Parameter

from hub.api.params import MAX_ID, id_param
from hub.auth.guards import requires_agent, requires_manager
from hub.auth.principal import Principal
from hub.inboxes import UnknownInbox, get_inbox_config
from knowledge_base import finder, ratelimit, service
from knowledge_base.schemas import (
    ArticleIn,
    ArticleList,
    ArticleOut,
    ArticlePatch,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    MissOut,
    SearchOut,
    SearchResultOut,
    VersionOut,
)
from knowledge_base.search import SearchHit

LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$"
LocaleParam = Annotated[str, Parameter(pattern=LOCALE_PATTERN, max_length=16, description="e.g. en, fr, pt-BR")]
QueryParam = Annotated[str, Parameter(max_length=200, description="What the reader typed")]
ArticleId = Annotated[int, id_param("article")]
CategoryId = Annotated[int, id_param("category")]


def base_url(request: Request[Any, Any, Any]) -> str:
    settings = getattr(request.app.state, "settings", None)
    return settings.base_url if settings is not None else ""


def results(request: Request[Any, Any, Any], hits: list[SearchHit], suffix: str = "") -> list[SearchResultOut]:
    root = base_url(request)
    return [
        SearchResultOut(
            article_id=h.article_id,
            title=h.title,
            slug=h.slug,
            locale=h.locale,
            category_id=h.category_id,
            snippet=h.snippet,
            url=root + service.article_path(h.locale, h.slug) + suffix,
        )
        for h in hits
    ]


class CategoryController(Controller):
    path = "/api/v1/kb/categories"
    tags = ["knowledge base"]
    guards = [requires_agent]

    @get("/")
    async def list_categories(
        self, locale: Annotated[str | None, Parameter(pattern=LOCALE_PATTERN, max_length=16)] = None
    ) -> list[CategoryOut]:
        return await service.list_categories(locale)

    @post("/", guards=[requires_manager])
    async def create_category(self, data: Annotated[CategoryIn, Body(title="New category")]) -> CategoryOut:
        return await service.create_category(data)

    @patch("/{category_id:int}", guards=[requires_manager])
    async def update_category(
        self, category_id: CategoryId, data: Annotated[CategoryPatch, Body(title="Changes")]
    ) -> CategoryOut:
        return await service.update_category(category_id, data)

    @delete("/{category_id:int}", guards=[requires_manager])
    async def delete_category(self, category_id: CategoryId) -> None:
        """Articles in it stay, without a category."""
        await service.delete_category(category_id)


class ArticleController(Controller):
    path = "/api/v1/kb/articles"
    tags = ["knowledge base"]
    guards = [requires_agent]

    @get("/")
    async def list_articles(
        self,
        request: Request[Principal, Any, Any],
        locale: Annotated[str | None, Parameter(pattern=LOCALE_PATTERN, max_length=16)] = None,
        category_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        status: Annotated[str | None, Parameter(pattern="^(draft|published)$")] = None,
        cursor: Annotated[
            int | None, Parameter(ge=1, le=MAX_ID, description="next_cursor of the previous page")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> ArticleList:
        items, next_cursor = await service.list_articles(
            locale=locale, category_id=category_id, status=status, cursor=cursor, limit=limit,
            base_url=base_url(request),
        )  # fmt: skip
        return ArticleList(items=items, next_cursor=next_cursor)

    @post("/", guards=[requires_manager])
    async def create_article(
        self, request: Request[Principal, Any, Any], data: Annotated[ArticleIn, Body(title="New article")]
    ) -> ArticleOut:
        """Creates a draft (or publishes at once with `publish: true`)."""
        return await service.create_article(data, request.user.id, base_url(request))

    @get("/{article_id:int}")
    async def get_article(self, request: Request[Principal, Any, Any], article_id: ArticleId) -> ArticleOut:
        return await service.get_article(article_id, base_url(request))

    @patch("/{article_id:int}", guards=[requires_manager])
    async def update_article(
        self,
        request: Request[Principal, Any, Any],
        article_id: ArticleId,
        data: Annotated[ArticlePatch, Body(title="Draft changes")],
    ) -> ArticleOut:
        """Edits the draft; readers keep seeing the published version until the next publish."""
        return await service.update_article(article_id, data, base_url(request))

    @post("/{article_id:int}/publish", guards=[requires_manager], status_code=200)
    async def publish(self, request: Request[Principal, Any, Any], article_id: ArticleId) -> ArticleOut:
        return await service.publish_article(article_id, request.user.id, base_url(request))

    @post("/{article_id:int}/unpublish", guards=[requires_manager], status_code=200)
    async def unpublish(self, request: Request[Principal, Any, Any], article_id: ArticleId) -> ArticleOut:
        return await service.unpublish_article(article_id, base_url(request))

    @delete("/{article_id:int}", guards=[requires_manager])
    async def delete_article(self, article_id: ArticleId) -> None:
        await service.delete_article(article_id)

    @get("/{article_id:int}/versions")
    async def versions(self, article_id: ArticleId) -> list[VersionOut]:
        return [
            VersionOut(
                number=v.number,
                title=v.title,
                description=v.description,
                body_md=v.body_md,
                body_html=v.body_html,
                created_at=v.created_at,
                created_by_id=v.created_by_id,
            )
            for v in await service.list_versions(article_id)
        ]


class KbToolsController(Controller):
    path = "/api/v1/kb"
    tags = ["knowledge base"]
    guards = [requires_agent]

    @get("/search")
    async def search(
        self,
        request: Request[Principal, Any, Any],
        q: QueryParam,
        locale: LocaleParam = "en",
        category_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=50)] = 10,
    ) -> SearchOut:
        hits = await finder.search(q, locale=locale, category_id=category_id, limit=limit, source="agent")
        return SearchOut(query=q, locale=locale, results=results(request, hits))

    @get("/suggest")
    async def suggest(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: Annotated[int, id_param("conversation")],
        locale: LocaleParam = "en",
        limit: Annotated[int, Parameter(ge=1, le=20)] = 5,
    ) -> SearchOut:
        """Articles that may answer a conversation, with public URLs the agent can paste into a reply."""
        try:
            query, hits = await finder.suggest_for_conversation(
                request.user, conversation_id, locale=locale, limit=limit
            )
        except finder.ConversationNotVisible as exc:
            raise NotFoundException(f"No conversation {conversation_id} in an inbox you can see.") from exc
        return SearchOut(query=query, locale=locale, results=results(request, hits))

    @get("/reports/misses", guards=[requires_manager])
    async def misses(
        self,
        locale: Annotated[str | None, Parameter(pattern=LOCALE_PATTERN, max_length=16)] = None,
        source: Annotated[str | None, Parameter(pattern="^(help|widget|agent|api)$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
    ) -> list[MissOut]:
        """Searches that found nothing, most frequent first: the articles worth writing next."""
        return await finder.list_misses(locale=locale, source=source, limit=limit)


@get("/api/v1/help/search", opt={"public": True}, tags=["help center"])
async def help_search(
    request: Request[Any, Any, Any],
    q: QueryParam,
    locale: LocaleParam = "en",
    category_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Parameter(ge=1, le=50)] = 10,
) -> SearchOut:
    """Public search over published articles (what the help center's search box uses)."""
    hits = await finder.search(q, locale=locale, category_id=category_id, limit=limit, source="help")
    return SearchOut(query=q, locale=locale, results=results(request, hits))


@get("/api/v1/widget/kb/suggest", opt={"public": True}, tags=["widget"])
async def widget_suggest(
    request: Request[Any, Any, Any],
    inbox: Annotated[
        str,
        Parameter(
            min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="The widget inbox's public token"
        ),
    ],
    q: QueryParam = "",
    locale: Annotated[str | None, Parameter(pattern=LOCALE_PATTERN, max_length=16)] = None,
    limit: Annotated[int, Parameter(ge=1, le=10)] = 5,
) -> SearchOut:
    """Articles for what a widget visitor is typing. Links carry `?ref=widget` so an opened one counts as
    a deflection."""
    try:
        config = await get_inbox_config(inbox)
    except UnknownInbox as exc:
        raise NotFoundException("Unknown widget inbox; check the token in the embed snippet.") from exc
    settings = getattr(request.app.state, "settings", None)
    client = request.client.host if request.client else "unknown"
    await ratelimit.hit(
        f"suggest:{config.id}:{client}",
        limit=60,
        window=10,
        redis_url=settings.redis_url if settings else None,
        namespace=settings.redis_namespace if settings else "hub",
    )
    chosen = locale or str(config.settings.get("locale") or "en")
    if len(q.strip()) < 2:
        return SearchOut(query=q, locale=chosen, results=[])
    hits = await finder.search(q, locale=chosen, limit=limit, source="widget" if len(q.strip()) >= 4 else None)
    return SearchOut(query=q, locale=chosen, results=results(request, hits, f"?ref=widget&inbox={config.public_token}"))


ROUTES = [CategoryController, ArticleController, KbToolsController, help_search, widget_suggest]
