"""The help center in a real browser with JavaScript turned off: search, read, vote."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from tests.factories import make_token, make_user


async def test_help_center_without_javascript(live_server: Any, kb_browser: Any, client: httpx.AsyncClient) -> None:
    token = await make_token(await make_user("manager"))
    locale = f"en-{secrets.token_hex(3)}"
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        cat = await api.post("/api/v1/kb/categories", json={"name": "Orders", "locale": locale})
        assert cat.status_code == 201, cat.text
        art = await api.post(
            "/api/v1/kb/articles",
            json={
                "title": "Track your parcel",
                "body_md": "Every order ships with a **tracking number** from the courier.",
                "locale": locale,
                "category_id": cat.json()["id"],
                "publish": True,
            },
        )
        assert art.status_code == 201, art.text
    context = await kb_browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(f"{live_server.url}/help/{locale}")
        assert await page.title() == "Help center"
        await page.fill("input[name=q]", "trackng parcel")  # misspelt on purpose
        await page.press("input[name=q]", "Enter")
        await page.wait_for_url("**/search?q=*")
        await page.click("text=Track your parcel")
        await page.wait_for_url(f"**/help/{locale}/articles/track-your-parcel")
        assert await page.title() == "Track your parcel – Help center"
        assert await page.inner_text("article strong") == "tracking number"
        await page.click("button[value=yes]")
        await page.wait_for_selector("text=Thanks for your feedback.")
    finally:
        await context.close()
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
        stats = (await api.get(f"/api/v1/kb/articles/{art.json()['id']}")).json()
    assert stats["helpful_count"] == 1 and stats["view_count"] >= 1
