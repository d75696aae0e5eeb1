"""Auto-assignment: round robin and least loaded within capacity and presence, with a waiting queue."""

from hub import events
from hub.db import session_scope
from hub.models import User
from tests.factories import auth_headers, make_inbox, make_team, make_user
from tests.ticketing.conftest import conversation, inbound
from ticketing import assignment, service
from ticketing.assignment import choose
from ticketing.service import Actor


def test_choose_pure():
    # (id, availability, capacity, load)
    people = [(1, "online", 2, 2), (2, "online", 5, 3), (3, "online", 5, 1), (4, "offline", 9, 0), (5, "away", 9, 0)]
    assert choose(people, "least_loaded", None) == 3
    assert choose(people, "round_robin", 2) == 3
    assert choose(people, "round_robin", 3) == 2  # wraps, skipping the full agent 1
    assert choose([(4, "offline", 9, 0)], "round_robin", None) is None
    assert choose([(5, "away", 9, 0), (1, "online", 1, 1)], "least_loaded", None) == 5


async def setup_team(client, mode, *agents):
    team = await make_team()
    inbox = await make_inbox(team_id=team.id)
    users = [
        await make_user("agent", inbox_ids=[inbox.id], team_ids=[team.id], capacity=cap, availability=avail)
        for cap, avail in agents
    ]
    manager = await make_user("manager")
    resp = await client.put(
        f"/api/v1/teams/{team.id}/assignment", json={"mode": mode}, headers=await auth_headers(manager)
    )
    assert resp.status_code == 200, resp.text
    return team, inbox, users


async def test_round_robin_honours_capacity_and_presence(client, jobs):
    _team, inbox, (a, b, _off) = await setup_team(client, "round_robin", (2, "online"), (1, "online"), (5, "offline"))
    got = []
    for i in range(4):
        res = await inbound(inbox, f"rr{i}")
        got.append((await conversation(res.conversation_id)).assignee_id)
    assert got[:3] == [a.id, b.id, a.id]  # b is full after one, off is offline
    assert got[3] is None  # everybody is full: it waits in the queue
    waiting = res.conversation_id
    # resolving one of a's conversations frees a slot: the queued conversation goes to a
    first = [c for c in got[:3]]
    assert first
    convs = await conversations_of(a.id)
    await service.update(convs[0], Actor("agent", a.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    assert (await conversation(waiting)).assignee_id == a.id


async def conversations_of(user_id):
    from sqlalchemy import select

    from hub.models import Conversation

    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(Conversation.id)
                    .where(Conversation.assignee_id == user_id, Conversation.status == "open")
                    .order_by(Conversation.id)
                )
            ).scalars()
        )


async def test_least_loaded_and_agent_coming_online(client, jobs):
    _team, inbox, (a, b) = await setup_team(client, "least_loaded", (3, "online"), (3, "offline"))
    ids = [(await inbound(inbox, f"ll{i}")).conversation_id for i in range(4)]
    owners = [(await conversation(i)).assignee_id for i in ids]
    assert owners[:3] == [a.id, a.id, a.id] and owners[3] is None
    # b comes online through the API: the waiting conversation is handed to b at once
    resp = await client.put(
        f"/api/v1/agents/{b.id}/availability", json={"availability": "online"}, headers=await auth_headers(b)
    )
    assert resp.status_code == 200, resp.text
    assert (await conversation(ids[3])).assignee_id == b.id
    # least loaded: b (1) gets the next one before a (3)
    nxt = await inbound(inbox, "ll-next")
    assert (await conversation(nxt.conversation_id)).assignee_id == b.id
    async with session_scope() as session:
        assert (await session.get(User, b.id)).availability == "online"


async def test_availability_permissions_and_mode_validation(client):
    team = await make_team()
    a = await make_user("agent")
    b = await make_user("agent")
    resp = await client.put(
        f"/api/v1/agents/{b.id}/availability", json={"availability": "away"}, headers=await auth_headers(a)
    )
    assert resp.status_code == 403
    manager = await make_user("manager")
    resp = await client.put(
        f"/api/v1/teams/{team.id}/assignment", json={"mode": "lottery"}, headers=await auth_headers(manager)
    )
    assert resp.status_code == 400 and "round_robin" in resp.json()["detail"]
    assert await assignment.assign_queue(team.id) == []
