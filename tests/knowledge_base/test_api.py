"""The /api/v1/kb endpoints: permissions, drafts vs published versions, Markdown sanitising, slugs,
publish/unpublish/delete reaching search, misses report, suggestions for a conversation."""

from __future__ import annotations

import secrets

import httpx

from hub.inbound import Identity, InboundMessage
from hub.ingest import ingest
from tests.factories import auth_headers, login, make_inbox, make_user


def loc() -> str:
    return f"en-{secrets.token_hex(3)}"


async def manager_headers() -> dict[str, str]:
    return await auth_headers(await make_user("manager"))


async def test_roles(client: httpx.AsyncClient) -> None:
    agent = await auth_headers(await make_user("agent"))
    manager = await manager_headers()
    assert (await client.get("/api/v1/kb/articles")).status_code == 401
    assert (await client.get("/api/v1/kb/articles", headers=agent)).status_code == 200
    assert (await client.get("/api/v1/kb/categories", headers=agent)).status_code == 200
    denied = await client.post("/api/v1/kb/articles", json={"title": "x"}, headers=agent)
    assert denied.status_code == 403
    assert (await client.post("/api/v1/kb/categories", json={"name": "x"}, headers=agent)).status_code == 403
    assert (await client.get("/api/v1/kb/reports/misses", headers=agent)).status_code == 403
    created = await client.post("/api/v1/kb/articles", json={"title": "Allowed", "locale": loc()}, headers=manager)
    assert created.status_code == 201, created.text
    assert (await client.post(f"/api/v1/kb/articles/{created.json()['id']}/publish", headers=agent)).status_code == 403


async def test_draft_publish_versions_and_search(client: httpx.AsyncClient) -> None:
    h = await manager_headers()
    locale = loc()
    cat = await client.post("/api/v1/kb/categories", json={"name": "Billing & Plans", "locale": locale}, headers=h)
    assert cat.status_code == 201, cat.text
    assert cat.json()["slug"] == "billing-plans"
    body = "# Refunds\n\nAsk **billing** for a refund.<script>alert(1)</script>\n\n[site](javascript:alert(1))"
    resp = await client.post(
        "/api/v1/kb/articles",
        json={"title": "Réclamer un remboursement", "body_md": body, "locale": locale, "category_id": cat.json()["id"]},
        headers=h,
    )
    assert resp.status_code == 201, resp.text
    art = resp.json()
    assert art["slug"] == "reclamer-un-remboursement" and art["status"] == "draft" and art["public_url"] is None
    # A draft is not searchable.
    search = await client.get("/api/v1/help/search", params={"q": "refund", "locale": locale})
    assert search.status_code == 200 and search.json()["results"] == []

    pub = await client.post(f"/api/v1/kb/articles/{art['id']}/publish", headers=h)
    assert pub.status_code == 200, pub.text
    assert pub.json()["status"] == "published" and pub.json()["published_version"] == 1
    assert pub.json()["public_url"].endswith(f"/help/{locale}/articles/reclamer-un-remboursement")
    results = (await client.get("/api/v1/help/search", params={"q": "refund", "locale": locale})).json()["results"]
    assert [r["article_id"] for r in results] == [art["id"]]
    assert results[0]["url"].endswith("/articles/reclamer-un-remboursement")

    versions = (await client.get(f"/api/v1/kb/articles/{art['id']}/versions", headers=h)).json()
    html = versions[0]["body_html"]
    assert "<strong>billing</strong>" in html and "<script>" not in html and 'href="javascript' not in html

    # Editing the draft leaves the published version (and search) alone until the next publish.
    patched = await client.patch(
        f"/api/v1/kb/articles/{art['id']}", json={"body_md": "Money back within thirty days."}, headers=h
    )
    assert patched.status_code == 200 and patched.json()["has_unpublished_changes"] is True
    assert (await client.get("/api/v1/help/search", params={"q": "thirty", "locale": locale})).json()["results"] == []
    await client.post(f"/api/v1/kb/articles/{art['id']}/publish", headers=h)
    found = (await client.get("/api/v1/help/search", params={"q": "thirty", "locale": locale})).json()["results"]
    assert [r["article_id"] for r in found] == [art["id"]]
    assert len((await client.get(f"/api/v1/kb/articles/{art['id']}/versions", headers=h)).json()) == 2

    unpub = await client.post(f"/api/v1/kb/articles/{art['id']}/unpublish", headers=h)
    assert unpub.json()["status"] == "draft"
    assert (await client.get("/api/v1/help/search", params={"q": "thirty", "locale": locale})).json()["results"] == []
    assert (await client.get(f"/help/{locale}/articles/reclamer-un-remboursement")).status_code == 404

    await client.post(f"/api/v1/kb/articles/{art['id']}/publish", headers=h)
    assert (await client.delete(f"/api/v1/kb/articles/{art['id']}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/kb/articles/{art['id']}", headers=h)).status_code == 404
    assert (await client.get("/api/v1/help/search", params={"q": "thirty", "locale": locale})).json()["results"] == []


async def test_bad_input_is_refused_and_nothing_stored(client: httpx.AsyncClient) -> None:
    h = await manager_headers()
    locale = loc()
    for payload in [
        {"title": ""},
        {"title": "x", "slug": "Not A Slug"},
        {"title": "x", "locale": "english!"},
        {"title": "x", "unknown": 1},
        {"title": "x", "category_id": 987654321},
    ]:
        resp = await client.post("/api/v1/kb/articles", json={"locale": locale, **payload}, headers=h)
        assert resp.status_code == 400, (payload, resp.text)
        assert resp.json()["detail"]
    listed = (await client.get("/api/v1/kb/articles", params={"locale": locale}, headers=h)).json()
    assert listed["items"] == []
    first = await client.post("/api/v1/kb/articles", json={"title": "Same", "locale": locale}, headers=h)
    assert first.status_code == 201
    dup = await client.post("/api/v1/kb/articles", json={"title": "Same", "locale": locale}, headers=h)
    assert dup.status_code == 409 and "slug" in dup.json()["detail"]
    other = await client.post("/api/v1/kb/categories", json={"name": "Elsewhere", "locale": "de"}, headers=h)
    wrong = await client.post(
        "/api/v1/kb/articles", json={"title": "Wrong", "locale": locale, "category_id": other.json()["id"]}, headers=h
    )
    assert wrong.status_code == 400 and "locale" in wrong.json()["detail"]
    assert (await client.get("/api/v1/help/search", params={"q": "x", "locale": "bad locale"})).status_code == 400


async def test_misses_are_recorded_and_listed(client: httpx.AsyncClient) -> None:
    h = await manager_headers()
    locale = loc()
    for _ in range(2):
        resp = await client.get("/api/v1/help/search", params={"q": "Quantum  Teleporter!", "locale": locale})
        assert resp.json()["results"] == []
    misses = (await client.get("/api/v1/kb/reports/misses", params={"locale": locale}, headers=h)).json()
    assert [(m["query"], m["count"], m["source"]) for m in misses] == [("quantum teleporter", 2, "help")]


async def test_cookie_session_needs_csrf(client: httpx.AsyncClient) -> None:
    user = await make_user("admin")
    csrf = await login(client, user)
    locale = loc()
    try:
        refused = await client.post("/api/v1/kb/articles", json={"title": "No token", "locale": locale})
        assert refused.status_code == 403
        ok = await client.post(
            "/api/v1/kb/articles", json={"title": "With token", "locale": locale}, headers={"X-CSRF-Token": csrf}
        )
        assert ok.status_code == 201
        page = await client.get("/app/kb")
        assert page.status_code == 200 and "With token" in page.text
        edit = await client.get(f"/app/kb/articles/{ok.json()['id']}")
        assert edit.status_code == 200 and 'name="body_md"' in edit.text
        saved = await client.post(
            f"/app/kb/articles/{ok.json()['id']}",
            data={"title": "With token", "body_md": "Now *published*", "locale": locale, "action": "publish"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert saved.status_code == 200 and saved.headers["HX-Redirect"] == f"/app/kb/articles/{ok.json()['id']}"
        art = (await client.get(f"/api/v1/kb/articles/{ok.json()['id']}")).json()
        assert art["status"] == "published" and art["body_md"] == "Now *published*"
    finally:
        await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
        client.cookies.clear()


async def test_agent_suggestions_for_a_conversation(client: httpx.AsyncClient) -> None:
    h = await manager_headers()
    inbox = await make_inbox("api")
    other_inbox = await make_inbox("api")
    await client.post(
        "/api/v1/kb/articles",
        json={
            "title": "Change the delivery address of an order",
            "body_md": "Open the order and edit the shipping address before it leaves the warehouse.",
            "publish": True,
        },
        headers=h,
    )
    result = await ingest(
        InboundMessage(
            inbox_id=inbox.id,
            sender=Identity("email", f"{secrets.token_hex(4)}@example.test"),
            text="Hi, I moved last week. Can I still change the delivery address for my order?",
            provider_id=secrets.token_hex(8),
            subject="Wrong address",
        )
    )
    member = await make_user("agent", inbox_ids=[inbox.id])
    outsider = await make_user("agent", inbox_ids=[other_inbox.id])
    resp = await client.get(
        "/api/v1/kb/suggest", params={"conversation_id": result.conversation_id}, headers=await auth_headers(member)
    )
    assert resp.status_code == 200, resp.text
    top = resp.json()["results"][0]
    assert top["title"] == "Change the delivery address of an order"
    assert top["url"].startswith("http") and "/help/en/articles/" in top["url"]
    hidden = await client.get(
        "/api/v1/kb/suggest", params={"conversation_id": result.conversation_id}, headers=await auth_headers(outsider)
    )
    assert hidden.status_code == 404


async def test_hostile_ids_and_text_get_4xx(client: httpx.AsyncClient) -> None:
    h = await manager_headers()
    huge = 2**70
    # ids past the API's bound (2**62) are refused by the parameter itself; inside it, unknown ids are 404
    assert (await client.get(f"/api/v1/kb/articles/{2**63}", headers=h)).status_code == 400
    assert (await client.get(f"/api/v1/kb/articles/{huge}", headers=h)).status_code == 400
    assert (await client.get(f"/api/v1/kb/articles/{2**62}", headers=h)).status_code == 404
    assert (await client.post(f"/api/v1/kb/articles/{2**63}/publish", headers=h)).status_code == 400
    assert (await client.post(f"/api/v1/kb/articles/{2**62}/publish", headers=h)).status_code == 404
    assert (await client.patch(f"/api/v1/kb/categories/{2**63}", json={"name": "x"}, headers=h)).status_code == 400
    assert (await client.patch(f"/api/v1/kb/categories/{2**62}", json={"name": "x"}, headers=h)).status_code == 404
    bad = await client.post("/api/v1/kb/articles", json={"title": "a\x00b", "locale": loc()}, headers=h)
    assert bad.status_code == 400 and "NUL" in bad.json()["detail"]
    bad = await client.post("/api/v1/kb/articles", json={"title": "x", "category_id": huge}, headers=h)
    assert bad.status_code == 400
    bad = await client.post("/api/v1/kb/articles", json={"title": "x", "position": 2**40}, headers=h)
    assert bad.status_code == 400
    sug = await client.get("/api/v1/kb/suggest", params={"conversation_id": 2**63}, headers=h)
    assert sug.status_code in (400, 404)
    assert (await client.get("/help/en/articles/%00")).status_code == 404
    assert (await client.get("/help/en/categories/a%00b")).status_code == 404
    assert (await client.get("/api/v1/widget/kb/suggest", params={"inbox": "a\x00" * 8, "q": "x"})).status_code == 400
    ok = await client.get("/api/v1/help/search", params={"q": "pass\x00word", "locale": "en"})
    assert ok.status_code == 200
