"""Contacts: search within what the caller may see, profile with identities, edits, timeline, merge."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from hub.db import session_scope
from hub.models import Conversation
from tests.api.conftest import World, incoming
from tests.api.test_conversations import walk
from tests.factories import unique


async def test_search_and_read_respect_inbox_visibility(client: httpx.AsyncClient, world: World):
    company = unique("Acme")
    seen_id = (await incoming(world.inbox, name="Visible Person"))[1]
    hidden_id = (await incoming(world.other_inbox, name="Hidden Person"))[1]
    for cid in (seen_id, hidden_id):
        resp = await client.patch(f"/api/v1/contacts/{cid}", json={"company": company}, headers=world.h("admin"))
        assert resp.status_code == 200, resp.text
    found = await walk(client, "/api/v1/contacts", world.h("agent"), q=company, limit=1)
    assert [c["id"] for c in found] == [seen_id]
    found = await walk(client, "/api/v1/contacts", world.h("manager"), q=company)
    assert {c["id"] for c in found} == {seen_id, hidden_id}
    assert (await client.get(f"/api/v1/contacts/{hidden_id}", headers=world.h("agent"))).status_code == 404
    profile = (await client.get(f"/api/v1/contacts/{seen_id}", headers=world.h("agent"))).json()
    assert profile["identities"][0]["kind"] == "email"
    assert profile["identities"][0]["address"] == profile["email"]


async def test_patch_normalises_and_rejects_bad_addresses(client: httpx.AsyncClient, world: World):
    url = f"/api/v1/contacts/{world.contact_id}"
    h = world.h("agent")
    resp = await client.patch(
        url, json={"phone": "+44 20 7946 0958", "attributes": {"plan": "gold", "seats": 3}}, headers=h
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["phone"] == "+442079460958" and resp.json()["attributes"] == {"plan": "gold", "seats": 3}
    resp = await client.patch(url, json={"attributes": {"seats": None}}, headers=h)
    assert resp.json()["attributes"] == {"plan": "gold"}
    resp = await client.patch(url, json={"email": "not an email"}, headers=h)
    assert resp.status_code == 400 and "email" in resp.json()["detail"].lower()
    resp = await client.patch(url, json={"name": 5}, headers=h)
    assert resp.status_code == 400
    assert (await client.patch(url, json={"name": "x"}, headers=world.h("outsider"))).status_code == 404


async def test_timeline_spans_channels_but_only_visible_inboxes(client: httpx.AsyncClient, world: World):
    address = f"{unique('cross')}@example.org"
    conv_a, contact, _ = await incoming(world.inbox, address, "first, by the visible inbox")
    conv_b, same, _ = await incoming(world.other_inbox, address, "second, by the other inbox")
    assert same == contact
    await client.post(f"/api/v1/conversations/{conv_a}/notes", json={"text": "a note"}, headers=world.h("agent"))
    url = f"/api/v1/contacts/{contact}/timeline"
    everything = await walk(client, url, world.h("admin"), limit=2)
    assert {i["conversation_id"] for i in everything} == {conv_a, conv_b}
    mine = await walk(client, url, world.h("agent"), limit=2)
    assert {i["conversation_id"] for i in mine} == {conv_a}
    assert sum(i["type"] == "message" for i in mine) == 2
    assert (await client.get(url, headers=world.h("outsider"))).status_code == 200  # visible through inbox B


async def test_merge_moves_conversations_and_identities(client: httpx.AsyncClient, world: World):
    _keep_conv, keep, _ = await incoming(world.inbox, name="Keeper")
    gone_conv, gone, _ = await incoming(world.inbox, name="Duplicate")
    url = f"/api/v1/contacts/{keep}/merge"
    resp = await client.post(url, json={"other_id": gone}, headers=world.h("agent"))
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["identities"]) == 2
    async with session_scope() as s:
        owner = (await s.execute(select(Conversation.contact_id).where(Conversation.id == gone_conv))).scalar_one()
    assert owner == keep
    admin = world.h("admin")
    assert (await client.get(f"/api/v1/contacts/{gone}", headers=admin)).json()["merged_into_id"] == keep
    assert (await client.post(url, json={"other_id": gone}, headers=admin)).status_code == 400  # already merged
    assert (await client.post(url, json={"other_id": keep}, headers=admin)).status_code == 400  # itself
    assert (await client.post(url, json={"other_id": 2**60}, headers=admin)).status_code == 404
    hidden = (await incoming(world.other_inbox))[1]
    resp = await client.post(url, json={"other_id": hidden}, headers=world.h("agent"))
    assert resp.status_code == 404  # the agent cannot see that contact
