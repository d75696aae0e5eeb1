"""Issue 6 point 4 in real Chromium: the agent inbox suggests knowledge-base articles for the open conversation
and inserts a link to one into the reply box with one click; the sent reply carries the public /help/ URL."""

from __future__ import annotations

import random
import re
import string

import httpx

from tests.factories import auth_headers, make_user, unique
from tests.inbox.conftest import api_inbox
from tests.inbox.test_browser import SHOTS, customer_message, shot, signed_in_page


def made_up_word() -> str:
    """A word no other article uses, so this test's article is the best match whatever else is in the DB."""
    return "zq" + "".join(random.choices(string.ascii_lowercase, k=8))


async def test_agent_inserts_a_suggested_article_link_and_sends_it(client, live_server, browser):
    word = made_up_word()
    title = f"Reset the {word} thermostat"
    manager = await auth_headers(await make_user("manager"))
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        created = await http.post(
            "/api/v1/kb/articles",
            json={
                "title": title,
                "body_md": f"Hold the {word} thermostat's power button for ten seconds until the light blinks.",
                "publish": True,
            },
            headers=manager,
        )
    assert created.status_code == 201, created.text
    article = created.json()
    public_url = article["public_url"]
    assert article["status"] == "published" and public_url and "/help/" in public_url

    inbox = await api_inbox(name=unique("Devices"))
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Kim Knowledge")
    conv_id = customer_message(
        live_server, inbox, unique("cust"), f"My {word} thermostat is stuck. How do I reset the thermostat?"
    )

    context, page = await signed_in_page(browser, live_server, agent)
    try:
        await page.click("label.view-tab:has-text('All')")
        item = page.locator(f'#conv-list a.item[data-conversation-id="{conv_id}"]')
        await item.click()
        await page.wait_for_url(re.compile(rf"/app/conversations/{conv_id}\b"))
        await page.locator("#timeline").get_by_text("thermostat is stuck").wait_for()

        # the suggestion appears beside the reply box, and one click puts the link into it
        chip = page.locator("#suggestions button.chip").filter(has_text=title)
        await chip.wait_for(timeout=10_000)
        assert await page.locator("#suggestions").is_visible()
        await page.fill("#composer-text", "Hi! This should help: ")
        await chip.click()
        text = await page.input_value("#composer-text")
        assert text.startswith("Hi! This should help: ") and public_url in text
        assert await page.evaluate("document.activeElement.id") == "composer-text"
        await shot(page, "kb-suggestion", live_server)

        await page.click("#send-button")
        await page.locator("#timeline li.msg.out").filter(has_text=public_url).wait_for(timeout=10_000)
        await page.wait_for_function("document.querySelector('#composer-text').value === ''")
    except Exception:
        await shot(page, "FAILED-kb-suggestion", live_server)
        (SHOTS / "failed-kb-suggestion.html").write_text(await page.content())
        raise
    finally:
        await context.close()

    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        resp = await http.get(
            f"/api/v1/conversations/{conv_id}/messages", params={"order": "asc"}, headers=await auth_headers(agent)
        )
    assert resp.status_code == 200, resp.text
    replies = [m for m in resp.json()["items"] if m["type"] == "message" and m["direction"] == "out"]
    assert len(replies) == 1
    assert replies[0]["author_id"] == agent.id
    assert public_url in replies[0]["text"] and title in replies[0]["text"]

    # the link the customer receives opens the article on the public help centre
    async with httpx.AsyncClient(timeout=10) as http:
        page_resp = await http.get(public_url if public_url.startswith("http") else live_server.url + public_url)
    assert page_resp.status_code == 200 and title in page_resp.text
