"""The widget in real Chromium, embedded by one script tag in a page served from another origin: the
visitor chats, an agent answers over the API, the answer shows live, a reload keeps the history."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import websockets
from aiohttp import web

from tests.chat.conftest import chat_inbox, recv_event
from tests.factories import auth_headers, make_user
from tests.stacks import free_port

PAGE = """<!doctype html><html><head><title>Shop</title>
<style>div, button, textarea {{ color: red !important; font-size: 40px !important; }}</style></head>
<body><h1>Our shop</h1>
<script src="{hub}/widget.js" data-inbox="{token}" async></script></body></html>"""


@pytest.fixture
async def host_site() -> AsyncIterator[Any]:
    """A second web server on another origin (localhost vs 127.0.0.1, another port) serving the host page."""
    pages: dict[str, str] = {}

    async def page(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in pages:
            raise web.HTTPNotFound()
        return web.Response(text=pages[name], content_type="text/html")

    app = web.Application()
    app.router.add_get("/{name}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield pages, f"http://localhost:{port}"
    finally:
        await runner.cleanup()


async def test_visitor_chats_from_another_site_and_keeps_history(client, live_server, browser, host_site) -> None:
    pages, origin = host_site
    inbox = await chat_inbox(greeting="Welcome to the shop!", color="#0a7d32", allowed_origins=[origin])
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Robin Support")
    headers = await auth_headers(agent)
    pages["shop.html"] = PAGE.format(hub=live_server.url, token=inbox.public_token)
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    async with websockets.connect(f"{live_server.ws_url}/ws/agent", additional_headers=headers) as agent_ws:
        await recv_event(agent_ws, "hello")
        await page.goto(f"{origin}/shop.html")
        launcher = page.locator("#hub-chat-widget .launch")
        await launcher.click()
        await page.locator("#hub-chat-widget .greet").get_by_text("Welcome to the shop!").wait_for()
        # styles of the host page do not leak into the shadow root
        size = await page.locator("#hub-chat-widget .greet").evaluate("e => getComputedStyle(e).fontSize")
        assert size == "14px"
        box = page.locator("#hub-chat-widget textarea")
        await box.fill("Do you ship to Norway?")
        await box.press("Enter")
        created = await recv_event(agent_ws, "message.created", text="Do you ship to Norway?")
        conversation_id = created["conversation_id"]
        mine = page.locator("#hub-chat-widget .m.in:not(.pending)").filter(has_text="Do you ship to Norway?")
        await mine.wait_for()

        # the visitor's typing reaches the agent; the agent's reply shows live
        await box.press_sequentially("thanks", delay=20)
        typing = await recv_event(agent_ws, "typing", author_kind="contact")
        assert typing["conversation_id"] == conversation_id
        await agent_ws.send(json.dumps({"type": "typing", "conversation_id": conversation_id, "typing": True}))
        await page.locator("#hub-chat-widget .typing").get_by_text("Robin is typing").wait_for()
        import httpx

        async with httpx.AsyncClient(base_url=live_server.url, headers=headers) as http:
            resp = await http.post(
                f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Yes, in 3 days."}
            )
            assert resp.status_code in (200, 201), resp.text
            reply_id = resp.json()["id"]
        await page.locator("#hub-chat-widget .m.out").get_by_text("Yes, in 3 days.").wait_for(timeout=10_000)
        # the open panel reports the reply as read
        await recv_event(agent_ws, "message.updated", id=reply_id, status="read")

    # a reload keeps the conversation (token and resume point live in the page's localStorage)
    await page.reload()
    await page.locator("#hub-chat-widget .launch").click()
    log = page.locator("#hub-chat-widget .log")
    await log.get_by_text("Yes, in 3 days.").wait_for(timeout=10_000)
    assert await log.locator(".m.in").filter(has_text="Do you ship to Norway?").count() == 1
    assert await log.locator(".m.out").filter(has_text="Yes, in 3 days.").count() == 1
    stored = await page.evaluate(f"localStorage.getItem('hubchat:{inbox.public_token}')")
    assert json.loads(stored)["token"]
    assert await context.cookies(live_server.url) == []
    assert errors == []
    await context.close()


async def test_visitor_uploads_a_file_and_leaves_an_email_when_nobody_is_online(
    client, live_server, browser, host_site
) -> None:
    pages, origin = host_site
    inbox = await chat_inbox(max_attachment_bytes=2000, offline_message="Nobody here right now; leave your email.")
    await make_user("agent", inbox_ids=[inbox.id], availability="offline")
    pages["away.html"] = PAGE.format(hub=live_server.url, token=inbox.public_token)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{origin}/away.html")
    await page.locator("#hub-chat-widget .launch").click()
    offline = page.locator("#hub-chat-widget form.offline")
    await offline.get_by_text("Nobody here right now").wait_for()
    await offline.locator("input[name=email]").fill("visitor@example.test")
    await offline.locator("textarea[name=text]").fill("Please email me the invoice.")
    await offline.locator("button[type=submit]").click()
    await page.locator("#hub-chat-widget .bar").get_by_text("We'll get back to you").wait_for()
    await page.locator("#hub-chat-widget .m.in:not(.pending)").filter(has_text="the invoice").wait_for()

    # a picture goes up as a message and comes back as an image; an oversize file gets the reason
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005"
        "0001ff89993d1d0000000049454e44ae426082"
    )
    file_input = page.locator("#hub-chat-widget input[type=file]")
    await file_input.set_input_files({"name": "dot.png", "mimeType": "image/png", "buffer": png})
    image = page.locator("#hub-chat-widget .m.in img[alt='dot.png']")
    await image.wait_for(timeout=10_000)
    assert await image.evaluate("img => img.complete && img.naturalWidth") == 1
    await file_input.set_input_files(
        {"name": "big.pdf", "mimeType": "application/pdf", "buffer": b"%PDF" + b"0" * 3000}
    )
    await page.locator("#hub-chat-widget .bar").get_by_text("send a smaller one").wait_for()
    await context.close()
