"""The agents' knowledge-base page under /app/kb: every agent can read drafts and statistics; managers
and admins edit, publish, unpublish and delete. Forms post with htmx (which adds the CSRF header) to
small handlers here that call the same `knowledge_base.service` the REST API uses."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.params import Body
from litestar.response import Template

from hub.auth.guards import requires_agent
from hub.auth.middleware import csrf_token_for
from hub.auth.principal import Principal
from knowledge_base import finder, service
from knowledge_base.markdown import render_markdown
from knowledge_base.schemas import ArticleIn, ArticlePatch, CategoryIn

FORM = Body(media_type=RequestEncodingType.URL_ENCODED)


def _csrf(request: Request[Principal, Any, Any]) -> str:
    return csrf_token_for(request.session) if request.user.via == "session" else ""


@get("/app/kb", guards=[requires_agent], include_in_schema=False)
async def kb_index(request: Request[Principal, Any, Any]) -> Template:
    articles, _ = await service.list_articles(limit=200)
    categories = await service.list_categories()
    misses = await finder.list_misses(limit=15) if request.user.at_least("manager") else []
    return Template(
        "kb_admin/index.html",
        context={
            "user": request.user,
            "can_edit": request.user.at_least("manager"),
            "csrf": _csrf(request),
            "articles": articles,
            "categories": {c.id: c for c in categories},
            "category_list": categories,
            "misses": misses,
        },
    )


@get("/app/kb/articles/{article_id:int}", guards=[requires_agent], include_in_schema=False)
async def kb_edit(request: Request[Principal, Any, Any], article_id: int) -> Template:
    article = await service.get_article(article_id, _base(request)) if article_id else None
    return Template(
        "kb_admin/edit.html",
        context={
            "user": request.user,
            "can_edit": request.user.at_least("manager"),
            "csrf": _csrf(request),
            "article": article,
            "preview": render_markdown(article.body_md) if article else "",
            "categories": await service.list_categories(),
        },
    )


def _base(request: Request[Any, Any, Any]) -> str:
    settings = getattr(request.app.state, "settings", None)
    return settings.base_url if settings is not None else ""


def _error(message: str) -> Response[str]:
    from html import escape

    return Response(
        f'<p class="error" role="alert">{escape(message)}</p>',
        media_type="text/html",
        headers={"HX-Retarget": "#errors", "HX-Reswap": "innerHTML"},
    )


def _redirect(url: str) -> Response[str]:
    return Response("", media_type="text/html", headers={"HX-Redirect": url})


def _fields(data: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("title", "body_md", "description", "locale", "slug"):
        if key in data:
            out[key] = data[key].replace("\r\n", "\n")
    if not out.get("slug"):
        out.pop("slug", None)
    if "category_id" in data:
        out["category_id"] = int(data["category_id"]) if data["category_id"].isdigit() else None
    return out


@post("/app/kb/articles/{article_id:int}", guards=[requires_agent], include_in_schema=False, status_code=200)
async def kb_save(
    request: Request[Principal, Any, Any], article_id: int, data: Annotated[dict[str, str], FORM]
) -> Response[str]:
    """One handler for the edit form's buttons: save, publish, unpublish, delete (0 = a new article)."""
    if not request.user.at_least("manager"):
        raise PermissionDeniedException("Only managers and admins can change knowledge-base articles.")
    action = data.get("action", "save")
    base = _base(request)
    try:
        if action == "delete" and article_id:
            await service.delete_article(article_id)
            return _redirect("/app/kb")
        if action == "unpublish" and article_id:
            await service.unpublish_article(article_id, base)
            return _redirect(f"/app/kb/articles/{article_id}")
        fields = _fields(data)
        if article_id:
            await service.update_article(article_id, msgspec.convert(fields, ArticlePatch), base)
        else:
            created = await service.create_article(msgspec.convert(fields, ArticleIn), request.user.id, base)
            article_id = created.id
        if action == "publish":
            await service.publish_article(article_id, request.user.id, base)
        return _redirect(f"/app/kb/articles/{article_id}")
    except msgspec.ValidationError as exc:
        return _error(f"Check the form: {exc}")
    except HTTPException as exc:
        return _error(str(exc.detail))


@post("/app/kb/categories", guards=[requires_agent], include_in_schema=False, status_code=200)
async def kb_add_category(
    request: Request[Principal, Any, Any], data: Annotated[dict[str, str], FORM]
) -> Response[str]:
    if not request.user.at_least("manager"):
        raise PermissionDeniedException("Only managers and admins can add categories.")
    fields = {k: v for k, v in data.items() if k in ("name", "locale", "description") and v}
    try:
        await service.create_category(msgspec.convert(fields, CategoryIn))
    except msgspec.ValidationError as exc:
        return _error(f"Check the category form: {exc}")
    except HTTPException as exc:
        return _error(str(exc.detail))
    return _redirect("/app/kb")


ROUTES = [kb_index, kb_edit, kb_save, kb_add_category]
