"""Visitor and agent both in real Chromium, in separate browser contexts: the visitor chats through the widget on
another site's page, the agent answers from the inbox UI at /app, each sees the other live; the visitor's socket
drops while the agent replies twice and, once back, the widget shows those replies exactly once."""

from __future__ import annotations

from typing import Any

from tests.chat.conftest import chat_inbox
from tests.chat.test_browser import PAGE, host_site  # noqa: F401  (host_site is a fixture used below)
from tests.factories import make_user, unique
from tests.inbox.test_browser import signed_in_page

# Keeps a handle on every socket the page opens, and lets the test refuse new ones while "the network is down":
# Playwright's offline mode blocks HTTP but leaves already-open WebSockets running (microsoft/playwright#4910).
SOCKET_SWITCH = """
(() => {
  const Real = window.WebSocket;
  window.__sockets = [];
  window.__wsDown = false;
  window.WebSocket = function (url, protocols) {
    const ws = new Real(window.__wsDown ? "ws://127.0.0.1:9/down" : url, protocols);
    window.__sockets.push(ws);
    return ws;
  };
  window.WebSocket.prototype = Real.prototype;
  Object.assign(window.WebSocket, { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 });
  window.__openSockets = () => window.__sockets.filter((s) => s.readyState === 1 && !s.url.endsWith("/down")).length;
})();
"""


async def _reply(page: Any, text: str) -> None:
    """Type into the inbox reply box and send, then wait for the agent's own timeline to show it."""
    await page.fill("#composer-text", text)
    await page.click("#send-button")
    await page.locator("#timeline li.msg.out").filter(has_text=text).wait_for(timeout=10_000)
    await page.wait_for_function("document.querySelector('#composer-text').value === ''")


async def test_visitor_and_agent_chat_live_across_browser_contexts_and_reconnect_without_loss(
    client,
    live_server,
    browser,
    host_site,  # noqa: F811  (the fixture imported above)
) -> None:
    pages, origin = host_site
    inbox = await chat_inbox(greeting="Hi, ask us anything.", allowed_origins=[origin])
    agent = await make_user("agent", inbox_ids=[inbox.id], name=unique("Robin"))
    pages["ask.html"] = PAGE.format(hub=live_server.url, token=inbox.public_token)

    visitor_ctx = await browser.new_context()
    await visitor_ctx.add_init_script(SOCKET_SWITCH)
    agent_ctx = None
    try:
        visitor = await visitor_ctx.new_page()
        errors: list[str] = []
        visitor.on("pageerror", lambda exc: errors.append(str(exc)))
        await visitor.goto(f"{origin}/ask.html")
        widget = visitor.locator("#hub-chat-widget")
        await widget.locator(".launch").click()
        await widget.locator(".greet").get_by_text("Hi, ask us anything.").wait_for()
        await visitor.wait_for_function("window.__openSockets() === 1")

        # the agent signs in to the real inbox in another browser context and watches every conversation
        agent_ctx, inbox_page = await signed_in_page(browser, live_server, agent)
        await inbox_page.click("label.view-tab:has-text('All')")
        await inbox_page.wait_for_url("**view=all**")
        await inbox_page.evaluate("window.__stillHere = true")

        question = f"Is the blue kettle in stock? {unique('q')}"
        box = widget.locator("textarea")
        await box.fill(question)
        await box.press("Enter")
        await widget.locator(".m.in:not(.pending)").filter(has_text=question).wait_for(timeout=10_000)

        # the new conversation shows up in the agent's list live, without a reload
        item = inbox_page.locator("#conv-list a.item").filter(has_text=question[:20])
        await item.wait_for(timeout=10_000)
        assert await inbox_page.evaluate("window.__stillHere") is True
        await item.click()
        await inbox_page.wait_for_url("**/app/conversations/**")
        timeline = inbox_page.locator("#timeline")
        await timeline.get_by_text(question).wait_for(timeout=10_000)

        # the agent answers from the reply box; the visitor sees it live
        answer = "Yes, we have twelve left."
        await _reply(inbox_page, answer)
        await widget.locator(".m.out").filter(has_text=answer).wait_for(timeout=10_000)

        # the visitor writes again while the conversation is open: the agent's timeline gains it live
        follow_up = "Great, can I pick it up today?"
        await box.fill(follow_up)
        await box.press("Enter")
        await timeline.get_by_text(follow_up).wait_for(timeout=10_000)

        # the visitor's connection drops: network offline, the open socket cut, reconnects refused while down
        await visitor_ctx.set_offline(True)
        await visitor.evaluate("window.__wsDown = true; window.__sockets.forEach((s) => s.close())")
        await visitor.wait_for_function("window.__openSockets() === 0")
        await widget.locator(".bar").get_by_text("Reconnecting").wait_for(timeout=10_000)

        missed = ["Sure, we are open until six.", "Bring your order number, please."]
        for text in missed:
            await _reply(inbox_page, text)
        for text in missed:  # nothing reaches the visitor while the socket is down
            assert await widget.locator(".m.out").filter(has_text=text).count() == 0

        # back online: the widget reconnects by itself and catches up
        await visitor_ctx.set_offline(False)
        await visitor.evaluate("window.__wsDown = false")
        await visitor.wait_for_function("window.__openSockets() === 1", timeout=20_000)
        log = widget.locator(".log")
        for text in missed:
            await log.locator(".m.out").filter(has_text=text).wait_for(timeout=20_000)

        # exactly once each, in order, and nothing earlier repeated
        expected_in = [question, follow_up]
        expected_out = [answer, *missed]
        for text in expected_in:
            assert await log.locator(".m.in").filter(has_text=text).count() == 1, text
        for text in expected_out:
            assert await log.locator(".m.out").filter(has_text=text).count() == 1, text
        shown = await log.locator(".m:not(.greet)").evaluate_all("els => els.map((e) => e.firstChild.textContent)")
        assert shown == [question, answer, follow_up, *missed]
        assert await log.locator(".m.failed, .m.pending").count() == 0

        # the agent's side has each message once too
        for text in [*expected_in, *expected_out]:
            assert await timeline.locator("li.msg").filter(has_text=text).count() == 1, text
        assert errors == []
    finally:
        if agent_ctx is not None:
            await agent_ctx.close()
        await visitor_ctx.close()
