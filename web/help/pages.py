"""The public help center: server-rendered, indexable, usable without JavaScript.

Every page has a title, a meta description and a canonical URL; translations are linked with hreflang;
`/sitemap.xml` lists every published article and category and `/robots.txt` points to it.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Annotated, Any
from xml.sax.saxutils import escape

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from hub.inboxes import UnknownInbox, get_inbox_config
from knowledge_base import finder, public
from knowledge_base.markdown import summarise

LOCALE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def _valid(locale: str, slug: str) -> bool:
    return bool(LOCALE_RE.match(locale) and SLUG_RE.match(slug) and len(slug) <= 160)


DEFAULT_LOCALE = "en"
READER_COOKIE = "hub_kb_reader"
PAGE_CACHE = {"Cache-Control": "public, max-age=60"}


def _base(request: Request[Any, Any, Any]) -> str:
    settings = getattr(request.app.state, "settings", None)
    return settings.base_url if settings is not None else ""


async def _context(request: Request[Any, Any, Any], locale: str, path: str, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "locale": locale,
        "locales": await public.published_locales(),
        "canonical": _base(request) + path,
        "alternates": [],
        "noindex": False,
        "page_title": "Help center",
        "meta_description": "Answers to common questions.",
    }
    context.update(extra)
    return context


async def _not_found(request: Request[Any, Any, Any], locale: str, message: str) -> Template:
    safe_locale = locale if LOCALE_RE.match(locale) else DEFAULT_LOCALE
    context = await _context(
        request, safe_locale, f"/help/{safe_locale}", page_title="Page not found", noindex=True, message=message
    )
    return Template("help/not_found.html", context=context, status_code=404)


@get("/help", opt={"public": True}, include_in_schema=False)
async def help_root() -> Redirect:
    locales = await public.published_locales()
    locale = DEFAULT_LOCALE if DEFAULT_LOCALE in locales or not locales else locales[0]
    return Redirect(f"/help/{locale}", status_code=302)


@get("/help/{locale:str}", opt={"public": True}, include_in_schema=False)
async def help_home(request: Request[Any, Any, Any], locale: str) -> Template:
    if not LOCALE_RE.match(locale):
        return await _not_found(request, DEFAULT_LOCALE, "There is no such help center page.")
    blocks = await public.home(locale)
    locales = await public.published_locales()
    context = await _context(
        request,
        locale,
        f"/help/{locale}",
        blocks=blocks,
        page_title="Help center",
        meta_description="Guides and answers: " + ", ".join(b.category.name for b in blocks if b.category)[:140],
        alternates=[(other, f"{_base(request)}/help/{other}") for other in locales if len(locales) > 1],
    )
    return Template("help/home.html", context=context, headers=PAGE_CACHE)


@get("/help/{locale:str}/search", opt={"public": True}, include_in_schema=False)
async def help_search_page(
    request: Request[Any, Any, Any],
    locale: str,
    q: Annotated[str, Parameter(max_length=200)] = "",
) -> Template:
    if not LOCALE_RE.match(locale):
        return await _not_found(request, DEFAULT_LOCALE, "There is no such help center page.")
    hits = await finder.search(q, locale=locale, limit=20, source="help") if q.strip() else []
    context = await _context(
        request,
        locale,
        f"/help/{locale}/search",
        query=q,
        results=hits,
        noindex=True,  # result pages are thin and endless; the articles themselves are indexed
        page_title=f"Search: {q}" if q else "Search the help center",
    )
    return Template("help/search.html", context=context)


@get("/help/{locale:str}/categories/{slug:str}", opt={"public": True}, include_in_schema=False)
async def help_category(request: Request[Any, Any, Any], locale: str, slug: str) -> Template:
    found = await public.category_page(locale, slug) if _valid(locale, slug) else None
    if found is None:
        return await _not_found(request, locale, "This category does not exist (any more).")
    category, articles = found
    context = await _context(
        request,
        locale,
        f"/help/{locale}/categories/{category.slug}",
        category=category,
        articles=articles,
        page_title=f"{category.name} – Help center",
        meta_description=category.description or summarise(", ".join(a.title for a in articles)),
    )
    return Template("help/category.html", context=context, headers=PAGE_CACHE)


@get("/help/{locale:str}/articles/{slug:str}", opt={"public": True}, include_in_schema=False)
async def help_article(
    request: Request[Any, Any, Any],
    locale: str,
    slug: str,
    ref: Annotated[str | None, Parameter(max_length=32)] = None,
    inbox: Annotated[str | None, Parameter(max_length=64)] = None,
    voted: Annotated[int | None, Parameter(ge=0, le=1)] = None,
) -> Template:
    page = await public.article_page(locale, slug) if _valid(locale, slug) else None
    if page is None:
        return await _not_found(request, locale, "This article does not exist or is no longer published.")
    inbox_id: int | None = None
    if ref == "widget" and inbox and TOKEN_RE.match(inbox):
        try:
            inbox_id = (await get_inbox_config(inbox)).id
        except UnknownInbox:
            inbox_id = None
    if not voted:
        await public.record_view(page.article.id, from_widget=ref == "widget", inbox_id=inbox_id)
    base = _base(request)
    path = f"/help/{locale}/articles/{page.article.slug}"
    version = page.version
    description = version.description or summarise(version.body_text)
    json_ld = json.dumps(
        {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": version.title,
            "description": description,
            "dateModified": version.created_at.isoformat(),
            "inLanguage": locale,
            "mainEntityOfPage": base + path,
        }
    ).replace("</", "<\\/")
    context = await _context(
        request,
        locale,
        path,
        article=page.article,
        version=version,
        category=page.category,
        related=page.related,
        voted=bool(voted),
        page_title=f"{version.title} – Help center",
        meta_description=description,
        og_type="article",
        json_ld=json_ld,
        alternates=[(locale, base + path)] + [(lc, f"{base}/help/{lc}/articles/{s}") for lc, s in page.translations]
        if page.translations
        else [],
    )
    # Pages with ?ref= or ?voted= are the same article: the canonical link tells search engines so.
    headers = {} if ref or voted else PAGE_CACHE
    return Template("help/article.html", context=context, headers=headers)


@post("/help/{locale:str}/articles/{slug:str}/feedback", opt={"public": True}, include_in_schema=False)
async def help_feedback(
    request: Request[Any, Any, Any],
    locale: str,
    slug: str,
    data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """'Was this helpful?' from a plain form; one vote per reader (anonymous cookie), changeable."""
    page = await public.article_page(locale, slug) if _valid(locale, slug) else None
    if page is None:
        return await _not_found(request, locale, "This article does not exist or is no longer published.")
    answer = (data.get("helpful") or "").lower()
    if answer not in ("yes", "no"):
        return Response("Choose Yes or No to say whether the article helped.", status_code=400, media_type="text/plain")
    reader = request.cookies.get(READER_COOKIE) or secrets.token_urlsafe(18)
    await public.vote(page.article.id, reader, answer == "yes")
    response: Response[Any] = Redirect(f"/help/{locale}/articles/{page.article.slug}?voted=1#feedback", status_code=303)
    response.set_cookie(READER_COOKIE, reader, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
    return response


@get("/sitemap.xml", opt={"public": True}, include_in_schema=False)
async def sitemap(request: Request[Any, Any, Any]) -> Response[str]:
    base = _base(request)
    articles, categories = await public.sitemap_entries()
    locales = sorted({a[0] for a in articles})
    urls = [f"<url><loc>{escape(f'{base}/help/{lc}')}</loc></url>" for lc in locales]
    urls += [f"<url><loc>{escape(f'{base}/help/{lc}/categories/{slug}')}</loc></url>" for lc, slug in categories]
    urls += [
        f"<url><loc>{escape(f'{base}/help/{lc}/articles/{slug}')}</loc>"
        f"<lastmod>{modified.date().isoformat()}</lastmod></url>"
        for lc, slug, modified in articles
    ]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "\n".join(urls) + "\n</urlset>\n"
    )
    return Response(body, media_type="application/xml", headers={"Cache-Control": "public, max-age=300"})


@get("/robots.txt", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def robots(request: Request[Any, Any, Any]) -> Response[str]:
    body = (
        "User-agent: *\n"
        "Allow: /help\n"
        "Disallow: /help/*/search\n"
        "Disallow: /api/\n"
        "Disallow: /app\n"
        f"Sitemap: {_base(request)}/sitemap.xml\n"
    )
    return Response(body, media_type="text/plain", headers={"Cache-Control": "public, max-age=3600"})


ROUTES = [help_root, help_home, help_search_page, help_category, help_article, help_feedback, sitemap, robots]
