"""The manager dashboard in real Chromium: sign in through the API in the browser context, open
/dashboard, and check the charts are drawn with data and the live panel is filled by htmx."""

import os
import shutil

import pytest

from tests.factories import PASSWORD, make_inbox, make_user
from tests.ticketing.conftest import inbound, reply

CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM), reason=f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
)


@pytest.fixture(scope="session")
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            await b.close()


async def signed_in_page(browser, live_server, user):
    context = await browser.new_context(base_url=live_server.url)
    resp = await context.request.post("/api/v1/auth/login", data={"email": user.email, "password": PASSWORD})
    assert resp.ok, await resp.text()
    return context, await context.new_page()


async def test_dashboard_renders_charts_and_live_panel(client, live_server, browser):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    first = await inbound(inbox, "dash-1", "hello dashboard")
    await inbound(inbox, "dash-2", "second")
    await reply(first.conversation_id, agent.id)
    manager = await make_user("manager")
    context, page = await signed_in_page(browser, live_server, manager)
    try:
        errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        resp = await page.goto("/dashboard")
        assert resp.status == 200
        await page.wait_for_selector("body[data-charts-ready='true']", timeout=15000)
        assert await page.locator("canvas").count() == 4
        volume = await page.evaluate(
            "window.dashboardCharts.volume.data.datasets[0].data.reduce((a, b) => a + (b || 0), 0)"
        )
        assert volume >= 2
        frt_points = await page.evaluate(
            "window.dashboardCharts.frt.data.datasets[0].data.filter(v => v !== null).length"
        )
        assert frt_points >= 1
        # a drawn canvas has non-blank pixels
        drawn = await page.evaluate(
            """() => { const c = document.getElementById('chart-volume');
                       const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                       for (let i = 3; i < d.length; i += 4) { if (d[i] !== 0) return true; } return false; }"""
        )
        assert drawn
        await page.wait_for_selector("#live-open", timeout=15000)
        assert int(await page.inner_text("#live-open")) >= 1
        assert int(await page.inner_text("#live-unassigned")) >= 1
        assert errors == []
    finally:
        await context.close()


async def test_dashboard_is_for_managers(client, live_server, browser):
    agent = await make_user("agent")
    context, page = await signed_in_page(browser, live_server, agent)
    try:
        resp = await page.goto("/dashboard")
        assert resp.status == 403
        assert "Managers only" in await page.content()
    finally:
        await context.close()
    anonymous = await browser.new_context(base_url=live_server.url)
    try:
        page = await anonymous.new_page()
        await page.goto("/dashboard")
        assert "/login" in page.url
    finally:
        await anonymous.close()
