"""The inbox pages in-process: sign-in redirects, views, unread counts, timeline, access control."""

from __future__ import annotations

from hub.auth.principal import Principal
from tests.factories import login, make_team, make_user
from tests.inbox.conftest import api_inbox, customer_says
from web.inbox import queries
from web.inbox.queries import ListFilters


async def test_signed_out_goes_to_login(client):
    client.cookies.clear()
    resp = await client.get("/", follow_redirects=False)
    assert resp.status_code in (301, 302, 303, 307)
    assert resp.headers["location"] == "/login"
    resp = await client.get("/app/", follow_redirects=False)
    assert resp.status_code in (302, 303, 307)
    assert resp.headers["location"].startswith("/login")
    resp = await client.get("/app/list", headers={"HX-Request": "true"})
    assert resp.status_code == 401 and resp.headers["hx-redirect"] == "/login"
    page = await client.get("/login")
    assert page.status_code == 200
    assert 'id="login-form"' in page.text and "/static/inbox/login.js" in page.text


async def test_agent_sees_conversation_unread_then_read(client):
    inbox = await api_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id], name="Ada Agent")
    conv_id = await customer_says(inbox.id, "carol", "My parcel never arrived", name="Carol Customer")
    await customer_says(inbox.id, "carol", "Any news?")
    await login(client, agent)
    resp = await client.get("/", follow_redirects=False)
    assert resp.headers["location"] == "/app"

    page = await client.get("/app/", params={"view": "all"})
    assert page.status_code == 200
    assert "Carol Customer" in page.text
    assert 'hx-headers=\'{"X-CSRF-Token": "' in page.text
    assert f'data-conversation-id="{conv_id}"' in page.text
    assert 'class="unread-count" title="2 unread"' in page.text

    pane = await client.get(f"/app/conversations/{conv_id}", headers={"HX-Request": "true"})
    assert pane.status_code == 200
    assert "My parcel never arrived" in pane.text and "Any news?" in pane.text
    assert 'id="composer"' in pane.text and 'hx-swap-oob="true"' in pane.text

    listing = await client.get("/app/list", params={"view": "all"}, headers={"HX-Request": "true"})
    assert f'data-conversation-id="{conv_id}"' in listing.text
    assert "unread-count" not in listing.text.split(f'data-conversation-id="{conv_id}"')[1].split("</li>")[0]

    await customer_says(inbox.id, "carol", "Hello?")
    listing = await client.get("/app/list", params={"view": "all"}, headers={"HX-Request": "true"})
    assert 'title="1 unread"' in listing.text


async def test_views_search_and_filters(client):
    inbox = await api_inbox()
    team = await make_team()
    agent = await make_user("agent", inbox_ids=[inbox.id], team_ids=[team.id])
    principal = Principal(agent.id, agent.email, agent.name, "agent", frozenset([inbox.id]), frozenset([team.id]))
    mine = await customer_says(inbox.id, "m1", "refund please for order 1234")
    other = await customer_says(inbox.id, "m2", "where is the invoice")
    from hub.db import session_scope
    from hub.models import Conversation, ConversationTag

    async with session_scope() as session:
        (await session.get(Conversation, mine)).assignee_id = agent.id
        (await session.get(Conversation, other)).team_id = team.id
        session.add(ConversationTag(conversation_id=other, tag="billing"))

    def ids(page):
        return {r.conversation.id for r in page.rows}

    assert ids(await queries.list_conversations(principal, ListFilters(view="mine"))) == {mine}
    assert other in ids(await queries.list_conversations(principal, ListFilters(view="unassigned")))
    assert mine not in ids(await queries.list_conversations(principal, ListFilters(view="unassigned")))
    assert ids(await queries.list_conversations(principal, ListFilters(view="team"))) == {other}
    assert ids(await queries.list_conversations(principal, ListFilters(view="all", q="REFUND"))) == {mine}
    assert ids(await queries.list_conversations(principal, ListFilters(view="all", tag="billing"))) == {other}
    assert ids(await queries.list_conversations(principal, ListFilters(view="all", status="resolved"))) == set()
    counts = await queries.view_counts(principal)
    assert counts["mine"] == 1 and counts["team"] == 1 and counts["all"] == 2


async def test_list_pages_with_cursor(client):
    inbox = await api_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    principal = Principal(agent.id, agent.email, agent.name, "agent", frozenset([inbox.id]))
    made = {await customer_says(inbox.id, f"p{i}", f"message {i}") for i in range(5)}
    first = await queries.list_conversations(principal, ListFilters(view="all"), limit=3)
    assert len(first.rows) == 3 and first.next_cursor
    second = await queries.list_conversations(principal, ListFilters(view="all", cursor=first.next_cursor), limit=3)
    assert {r.conversation.id for r in first.rows} | {r.conversation.id for r in second.rows} == made
    assert second.next_cursor is None


async def test_cross_channel_timeline_respects_inbox_access(client):
    inbox_a = await api_inbox()
    inbox_b = await api_inbox()
    agent = await make_user("agent", inbox_ids=[inbox_a.id])
    manager = await make_user("manager")
    # the same person writes through two inboxes: one contact, two conversations
    conv_a = await customer_says(inbox_a.id, "dave", "first, through A", name="Dave")
    from hub.db import session_scope
    from hub.models import ContactIdentity, Conversation

    async with session_scope() as session:
        contact_id = (await session.get(Conversation, conv_a)).contact_id
        session.add(ContactIdentity(contact_id=contact_id, kind="external", address=f"{inbox_b.id}:dave"))
    conv_b = await customer_says(inbox_b.id, "dave", "second, through B")

    await login(client, manager)
    pane = await client.get(f"/app/conversations/{conv_a}", headers={"HX-Request": "true"})
    assert "first, through A" in pane.text and "second, through B" in pane.text
    assert f"Conversation #{conv_b}" in pane.text

    await login(client, agent)
    pane = await client.get(f"/app/conversations/{conv_a}", headers={"HX-Request": "true"})
    assert "first, through A" in pane.text and "second, through B" not in pane.text
    # no page, fragment or read mark for a conversation outside the agent's inboxes
    page = await client.get(f"/app/conversations/{conv_b}")
    assert page.status_code == 404 and "no conversation" in page.text.lower()
    assert (await client.get(f"/app/conversations/{conv_b}/timeline")).status_code == 404
    me = (await client.get("/api/v1/auth/me")).json()
    resp = await client.post(f"/app/conversations/{conv_b}/read", headers={"X-CSRF-Token": me["csrf_token"]})
    assert resp.status_code == 404
    listing = await client.get("/app/list", params={"view": "all", "status": "any"})
    assert f'data-conversation-id="{conv_b}"' not in listing.text


async def test_customer_text_and_html_cannot_inject_markup(client):
    inbox = await api_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    conv_id = await customer_says(
        inbox.id,
        "mallory",
        "<script>alert('text')</script>",
        name="<b>Mallory</b>",
        html="<p>hi</p><img src=x onerror=\"alert('html')\"><script>alert('html')</script>",
    )
    await login(client, agent)
    page = await client.get(f"/app/conversations/{conv_id}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "onerror" not in page.text
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page.text
