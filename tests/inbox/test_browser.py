"""The inbox in real Chromium against a real server: sign in, live messages, replying, presence and typing
between two agents, shortcuts, and access control."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.factories import PASSWORD, make_user, unique
from tests.inbox.conftest import api_inbox, webhook_post

SHOTS = Path(os.environ.get("HUB_TEST_SCREENSHOTS", "var/test-screenshots"))


async def signed_in_page(browser, live_server, user):
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await page.wait_for_url("**/login")
    await page.fill("#email", user.email)
    await page.fill("#password", PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url("**/app")
    await page.wait_for_selector("#connection[data-state=open]")
    return context, page


def customer_message(live_server, inbox, sender: str, text: str, name: str = "Casey Customer") -> int:
    resp = webhook_post(
        live_server.url,
        inbox.public_token,
        {"id": unique("msg"), "sender": {"id": sender, "name": name}, "text": text, "subject": "Broken order"},
    )
    assert resp.status_code == 200, resp.text
    return int(resp.json()["conversation_id"])


async def shot(page, name: str, live_server) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{live_server.stack.name}-{name}.png"))


async def test_agent_signs_in_sees_live_message_and_replies(client, live_server, browser):
    inbox = await api_inbox(name="Web orders")
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Avery Agent")
    sender = unique("cust")
    conv_id = customer_message(live_server, inbox, sender, "My order arrived broken.")

    context, page = await signed_in_page(browser, live_server, agent)
    try:
        await page.click("label.view-tab:has-text('All')")
        item = page.locator(f'#conv-list a.item[data-conversation-id="{conv_id}"]')
        await item.wait_for()
        assert "Casey Customer" in await item.inner_text()
        await page.locator("#search").focus()
        await page.keyboard.press("Escape")
        await page.keyboard.press("j")  # the first conversation of the list opens
        await page.wait_for_url(re.compile(rf"/app/conversations/{conv_id}\?view=all&status=open$"))
        assert await item.get_attribute("aria-current") == "true"
        await page.locator("#timeline").get_by_text("My order arrived broken.").wait_for()
        await page.evaluate("window.__stillHere = true")
        # a reload keeps both the open conversation and the chosen view
        await page.reload()
        await page.wait_for_selector("#connection[data-state=open]")
        assert await page.locator("label.view-tab input[value=all]").is_checked()
        await page.locator("#timeline").get_by_text("My order arrived broken.").wait_for()
        await page.evaluate("window.__stillHere = true")

        # the customer writes again: it appears without a reload
        customer_message(live_server, inbox, sender, "Hello? Anyone there?")
        await page.locator("#timeline").get_by_text("Hello? Anyone there?").wait_for(timeout=10_000)
        assert await page.evaluate("window.__stillHere") is True

        # someone new writes in: the list gains the conversation without a reload
        newcomer = customer_message(live_server, inbox, unique("cust"), "First time here", name="Nina Newcomer")
        await page.locator(f'#conv-list a.item[data-conversation-id="{newcomer}"]').wait_for(timeout=10_000)
        assert "Nina Newcomer" in await page.locator("#conv-list").inner_text()

        # reply with the keyboard: r focuses the reply box, Ctrl+Enter sends
        await page.locator("body").press("Escape")
        await page.keyboard.press("r")
        assert await page.evaluate("document.activeElement.id") == "composer-text"
        await page.keyboard.type("Sorry about that, a replacement is on its way.")
        await page.keyboard.press("Control+Enter")
        reply = page.locator("#timeline li.msg.out").filter(has_text="a replacement is on its way")
        await reply.wait_for(timeout=10_000)
        await page.wait_for_function("document.querySelector('#composer-text').value === ''")

        # a private note, styled apart
        await page.locator("#timeline").click()
        await page.keyboard.press("n")
        await page.keyboard.type("Customer is a repeat buyer.")
        await page.click("#send-button")
        await page.locator("#timeline li.msg.note").filter(has_text="repeat buyer").wait_for(timeout=10_000)

        # assign to me and tag, through the API; the header follows
        await page.click("button[data-action=assign-me]")
        await page.wait_for_function(
            f"document.querySelector('#conv-header select[data-field=assignee_id]').value == '{agent.id}'"
        )
        await page.fill("#tag-input", "damaged")
        await page.press("#tag-input", "Enter")
        await page.locator(".tag-chip").filter(has_text="#damaged").wait_for()
        await shot(page, "conversation", live_server)

        # snooze from the header
        await page.select_option("#conv-header select[data-action=snooze]", "4h")
        await page.locator("#status-badge").filter(has_text="snoozed").wait_for(timeout=10_000)

        # the help overlay lists the shortcuts; e resolves
        await page.locator("#timeline").click()
        await page.keyboard.press("?")
        help_dialog = page.locator("dialog#help")
        await help_dialog.wait_for(state="visible")
        assert "Resolve the conversation" in await help_dialog.inner_text()
        await shot(page, "help", live_server)
        await page.keyboard.press("Escape")
        await help_dialog.wait_for(state="hidden")
        await page.keyboard.press("e")
        await page.locator("#status-badge").filter(has_text="resolved").wait_for(timeout=10_000)
        assert await page.evaluate("window.__stillHere") is True
    except Exception:
        await shot(page, "FAILED-reply", live_server)
        (SHOTS / "failed.html").write_text(await page.content())
        raise
    finally:
        await context.close()

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        token_headers = {"Authorization": "Bearer " + await _token(agent)}
        conv = (await http.get(f"/api/v1/conversations/{conv_id}", headers=token_headers)).json()
    assert conv["status"] == "resolved" and conv["assignee_id"] == agent.id and "damaged" in conv["tags"]


async def _token(user) -> str:
    from tests.factories import make_token

    return await make_token(user)


async def test_second_agent_sees_presence_viewing_and_typing(client, live_server, browser):
    inbox = await api_inbox(name="Shared desk")
    first = await make_user("agent", inbox_ids=[inbox.id], name=unique("Fiona"))
    second = await make_user("agent", inbox_ids=[inbox.id], name=unique("Sam"))
    conv_id = customer_message(live_server, inbox, unique("cust"), "Two agents, one question.")

    ctx2, page2 = await signed_in_page(browser, live_server, second)
    ctx1 = None
    try:
        await page2.goto(f"{live_server.url}/app/conversations/{conv_id}")
        await page2.wait_for_selector("#connection[data-state=open]")
        teammate = page2.locator(f'#team li[data-user-id="{first.id}"]')
        await teammate.wait_for()
        assert await teammate.get_attribute("data-status") == "offline"

        ctx1, page1 = await signed_in_page(browser, live_server, first)
        await page2.wait_for_function(
            f"document.querySelector('#team li[data-user-id=\"{first.id}\"]').dataset.status == 'online'"
        )
        await page1.goto(f"{live_server.url}/app/conversations/{conv_id}")
        await page1.wait_for_selector("#connection[data-state=open]")
        collision = page2.locator("#collision")
        await collision.filter(has_text=f"{first.name} is also viewing").wait_for(timeout=10_000)
        # the newcomer learns about the agent who was already there
        await page1.locator("#collision").filter(has_text=f"{second.name} is also viewing").wait_for(timeout=10_000)

        # an assignment made by one agent shows on the other's page
        await page1.click("button[data-action=assign-me]")
        await page2.wait_for_function(
            f"document.querySelector('#conv-header select[data-field=assignee_id]').value == '{first.id}'"
        )

        await page1.click("#composer-text")
        await page1.keyboard.type("Let me check")
        await collision.filter(has_text=f"{first.name} is typing a reply").wait_for(timeout=10_000)
        await shot(page2, "collision", live_server)

        # away, then gone when the last tab closes
        await page1.select_option("#my-status", "away")
        await page2.wait_for_function(
            f"document.querySelector('#team li[data-user-id=\"{first.id}\"]').dataset.status == 'away'"
        )
        await ctx1.close()
        ctx1 = None
        await page2.wait_for_function(
            f"document.querySelector('#team li[data-user-id=\"{first.id}\"]').dataset.status == 'offline'"
        )
        await page2.wait_for_function(
            f"!document.querySelector('#collision').textContent.includes({first.name!r})", timeout=10_000
        )
    finally:
        if ctx1 is not None:
            await ctx1.close()
        await ctx2.close()


async def test_agent_without_access_cannot_open_the_conversation(client, live_server, browser):
    inbox = await api_inbox()
    outsider_inbox = await api_inbox()
    outsider = await make_user("agent", inbox_ids=[outsider_inbox.id])
    conv_id = customer_message(live_server, inbox, unique("cust"), "Private matter")

    context, page = await signed_in_page(browser, live_server, outsider)
    try:
        resp = await page.goto(f"{live_server.url}/app/conversations/{conv_id}")
        assert resp is not None and resp.status == 404
        assert "Private matter" not in await page.content()
        assert "Not available" in await page.inner_text("h1")
        api = await page.request.get(f"{live_server.url}/api/v1/conversations/{conv_id}")
        assert api.status == 404
        timeline = await page.request.get(f"{live_server.url}/api/v1/conversations/{conv_id}/messages")
        assert timeline.status == 404
        await page.goto(f"{live_server.url}/app/?view=all&status=any")
        assert await page.locator(f'a.item[data-conversation-id="{conv_id}"]').count() == 0
    finally:
        await context.close()


async def test_signed_out_browser_lands_on_login(live_server, browser):
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(live_server.url + "/app/conversations/1")
        await page.wait_for_url("**/login?next=/app/conversations/1")
        assert await page.locator("#login-form").count() == 1
        await page.fill("#email", "nobody@example.test")
        await page.fill("#password", "wrong")
        await page.click("#login-form button[type=submit]")
        await page.locator("#login-error").filter(has_text="Wrong email or password").wait_for()
        await shot(page, "login", live_server)
    finally:
        await context.close()


async def test_reply_box_offers_canned_responses(client, live_server, browser):
    pytest.importorskip("ticketing")
    inbox = await api_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    manager = await make_user("manager")
    shortcut = unique("thanks").replace("-", "")
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        resp = await http.post(
            "/api/v1/canned-responses",
            json={"shortcut": shortcut, "title": "Thank you", "body": "Thanks {{ contact.first_name }}, we are on it."},
            headers={"Authorization": "Bearer " + await _token(manager)},
        )
    if resp.status_code == 404:
        pytest.skip("canned responses are not installed")
    assert resp.status_code == 201, resp.text
    conv_id = customer_message(live_server, inbox, unique("cust"), "Quick question", name="Olga Owens")

    context, page = await signed_in_page(browser, live_server, agent)
    try:
        await page.goto(f"{live_server.url}/app/conversations/{conv_id}")
        await page.click("#canned-button")
        await page.fill("#canned-q", shortcut)
        option = page.locator("#canned-list button").filter(has_text=shortcut)
        await option.wait_for(timeout=10_000)
        await option.click()
        assert await page.input_value("#composer-text") == "Thanks Olga, we are on it."
        assert await page.evaluate("document.activeElement.id") == "composer-text"

        # signing in again elsewhere renews the session's CSRF token: the page picks up the new one and sends
        again = await page.request.post(
            f"{live_server.url}/api/v1/auth/login", data={"email": agent.email, "password": PASSWORD}
        )
        assert again.ok
        await page.click("#send-button")
        await page.locator("#timeline li.msg.out").filter(has_text="Thanks Olga").wait_for(timeout=10_000)
    finally:
        await context.close()
