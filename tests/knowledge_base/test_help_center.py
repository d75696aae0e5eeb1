"""The public help center: indexable pages, search without JavaScript, votes, views, widget deflection,
sitemap and robots, and the widget's suggestion endpoint."""

from __future__ import annotations

import re
import secrets

import httpx

from knowledge_base.public import deflection_count
from tests.factories import auth_headers, make_inbox, make_user


async def publish(client: httpx.AsyncClient, h: dict[str, str], **fields: object) -> dict:  # type: ignore[type-arg]
    resp = await client.post("/api/v1/kb/articles", json={**fields, "publish": True}, headers=h)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def setup_site(client: httpx.AsyncClient) -> tuple[str, dict, dict, dict[str, str]]:  # type: ignore[type-arg]
    h = await auth_headers(await make_user("manager"))
    locale = f"en-{secrets.token_hex(3)}"
    cat = (
        await client.post(
            "/api/v1/kb/categories",
            json={"name": "Account", "locale": locale, "description": "Sign-in and security"},
            headers=h,
        )
    ).json()
    group = secrets.token_hex(6)
    art = await publish(
        client,
        h,
        title="Reset your password",
        description="Get back into your account.",
        body_md="Choose **Forgot password** on the sign-in page.\n\n<img src=x onerror=alert(1)>",
        locale=locale,
        category_id=cat["id"],
        translation_group=group,
    )
    return locale, cat, art, h


async def test_pages_are_indexable(client: httpx.AsyncClient) -> None:
    locale, cat, art, h = await setup_site(client)
    fr = f"fr-{secrets.token_hex(3)}"
    await publish(
        client, h, title="Réinitialiser le mot de passe", locale=fr, translation_group=art["translation_group"]
    )
    await client.post(
        "/api/v1/kb/articles", json={"title": "Secret draft", "locale": locale, "category_id": cat["id"]}, headers=h
    )

    home = await client.get(f"/help/{locale}")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "Reset your password" in home.text and "Secret draft" not in home.text
    assert '<link rel="canonical" href="http://127.0.0.1:' in home.text
    assert '<form class="search" action="/help/' in home.text and "<script" not in home.text

    page = await client.get(f"/help/{locale}/articles/{art['slug']}")
    assert page.status_code == 200
    text = page.text
    assert "<title>Reset your password – Help center</title>" in text
    assert '<meta name="description" content="Get back into your account.">' in text
    assert re.search(rf'<link rel="canonical" href="http://[^"]+/help/{locale}/articles/reset-your-password">', text)
    assert f'hreflang="{fr}"' in text
    assert "<strong>Forgot password</strong>" in text and "<img src=x" not in text
    assert "application/ld+json" in text

    category = await client.get(f"/help/{locale}/categories/{cat['slug']}")
    assert category.status_code == 200 and "Reset your password" in category.text
    assert "Secret draft" not in category.text

    assert (await client.get(f"/help/{locale}/articles/secret-draft")).status_code == 404
    missing = await client.get(f"/help/{locale}/articles/nope-{secrets.token_hex(3)}")
    assert missing.status_code == 404 and "noindex" in missing.text
    assert (await client.get("/help/NOT%20A%20LOCALE")).status_code == 404

    sitemap = await client.get("/sitemap.xml")
    assert sitemap.status_code == 200 and sitemap.headers["content-type"].startswith("application/xml")
    assert f"/help/{locale}/articles/reset-your-password</loc>" in sitemap.text
    assert f"/help/{locale}/categories/{cat['slug']}</loc>" in sitemap.text
    assert "secret-draft" not in sitemap.text
    robots = await client.get("/robots.txt")
    assert robots.status_code == 200 and "Sitemap: http" in robots.text

    root = await client.get("/help", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"].startswith("/help/")


async def test_search_page_works_without_javascript(client: httpx.AsyncClient) -> None:
    locale, _cat, art, _h = await setup_site(client)
    page = await client.get(f"/help/{locale}/search", params={"q": "pasword reset"})
    assert page.status_code == 200
    assert f'href="/help/{locale}/articles/{art["slug"]}"' in page.text
    assert 'name="robots" content="noindex' in page.text
    empty = await client.get(f"/help/{locale}/search", params={"q": "zzqx unknown"})
    assert "No articles match" in empty.text
    hostile = await client.get(f"/help/{locale}/search", params={"q": '<script>alert(1)</script> "*'})
    assert hostile.status_code == 200 and "<script>alert(1)" not in hostile.text


async def test_votes_and_views(client: httpx.AsyncClient) -> None:
    locale, _cat, art, h = await setup_site(client)
    url = f"/help/{locale}/articles/{art['slug']}"
    await client.get(url)
    await client.get(url)
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as reader:
        vote = await reader.post(f"{url}/feedback", data={"helpful": "yes"}, follow_redirects=False)
        assert vote.status_code == 303 and vote.headers["location"].endswith("?voted=1#feedback")
        # Same reader votes again: changes the vote, does not add one.
        await reader.post(f"{url}/feedback", data={"helpful": "no"})
        await reader.post(f"{url}/feedback", data={"helpful": "no"})
        bad = await reader.post(f"{url}/feedback", data={"helpful": "maybe"})
        assert bad.status_code == 400
    async with httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url)) as other:
        await other.post(f"{url}/feedback", data={"helpful": "yes"})
    stats = (await client.get(f"/api/v1/kb/articles/{art['id']}", headers=h)).json()
    assert (stats["helpful_count"], stats["not_helpful_count"]) == (1, 1)
    assert stats["view_count"] == 2


async def test_widget_suggestions_and_deflection(client: httpx.AsyncClient) -> None:
    locale, _cat, art, _h = await setup_site(client)
    inbox = await make_inbox("chat", settings={"locale": locale})
    resp = await client.get("/api/v1/widget/kb/suggest", params={"inbox": inbox.public_token, "q": "forgot my passw"})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert results and results[0]["article_id"] == art["id"]
    link = results[0]["url"]
    assert "ref=widget" in link and inbox.public_token in link
    assert (await client.get("/api/v1/widget/kb/suggest", params={"inbox": "x" * 20, "q": "pass"})).status_code == 404
    short = await client.get("/api/v1/widget/kb/suggest", params={"inbox": inbox.public_token, "q": "p"})
    assert short.json()["results"] == []

    before = await deflection_count(art["id"])
    opened = await client.get(httpx.URL(link).raw_path.decode())
    assert opened.status_code == 200
    assert await deflection_count(art["id"]) == before + 1
    # A plain visit is a view, not a deflection.
    await client.get(f"/help/{locale}/articles/{art['slug']}")
    assert await deflection_count(art["id"]) == before + 1


async def test_widget_suggest_is_rate_limited(client: httpx.AsyncClient) -> None:
    inbox = await make_inbox("chat")
    codes = []
    for _ in range(400):  # 60 per 10-second window; a window boundary may reset the count once
        resp = await client.get("/api/v1/widget/kb/suggest", params={"inbox": inbox.public_token, "q": "a"})
        codes.append(resp.status_code)
        if resp.status_code == 429:
            assert resp.headers["retry-after"] == "10"
            break
    assert codes[-1] == 429 and codes[0] == 200
    assert len(codes) > 60
