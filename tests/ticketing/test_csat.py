"""CSAT: a rating request on resolve, the public page, SMS digit replies, once per resolution."""

from sqlalchemy import select

from hub import events
from hub.db import session_scope
from hub.models import Message
from tests.factories import make_inbox, make_user
from tests.ticketing.conftest import conversation, inbound, reply
from ticketing import service
from ticketing.models import ConversationMetrics, CsatSurvey
from ticketing.service import Actor


async def requests_of(conversation_id):
    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, Message.author_kind == "system")
                    .order_by(Message.id)
                )
            ).scalars()
        )


async def surveys_of(conversation_id):
    async with session_scope() as session:
        return list(
            (
                await session.execute(
                    select(CsatSurvey).where(CsatSurvey.conversation_id == conversation_id).order_by(CsatSurvey.id)
                )
            ).scalars()
        )


async def test_rating_page_once_per_resolution(client, jobs):
    inbox = await make_inbox()
    agent = await make_user("agent", inbox_ids=[inbox.id])
    res = await inbound(inbox, "rate-me")
    await reply(res.conversation_id, agent.id)
    await service.update(res.conversation_id, Actor("agent", agent.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    [request] = await requests_of(res.conversation_id)
    token = request.meta["csat"]
    assert request.meta["automated"] is True and request.direction == "out"
    assert f"/csat/{token}" in request.text
    page = await client.get(f"/csat/{token}")
    assert page.status_code == 200 and 'name="score"' in page.text
    done = await client.post(f"/csat/{token}", data={"score": "4", "comment": "quick <b>help</b>"})
    assert done.status_code == 200 and "Thank you" in done.text
    again = await client.post(f"/csat/{token}", json={"score": 1})
    assert again.status_code == 409
    assert "already been rated" in (await client.get(f"/csat/{token}")).text
    [survey] = await surveys_of(res.conversation_id)
    assert (survey.score, survey.comment, survey.resolution) == (4, "quick <b>help</b>", 1)
    assert (await client.get("/csat/not-a-token")).status_code == 404
    # reopened by the customer and resolved again: a second survey, for the second resolution
    await inbound(inbox, "rate-me", "one more thing")
    await service.update(res.conversation_id, Actor("agent", agent.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    surveys = await surveys_of(res.conversation_id)
    assert [s.resolution for s in surveys] == [1, 2]
    bad = await client.post(f"/csat/{surveys[1].token}", json={"score": 9})
    assert bad.status_code == 400
    ok = await client.post(f"/csat/{surveys[1].token}", json={"score": 5, "comment": "great"})
    assert ok.status_code == 200
    async with session_scope() as session:
        metrics = await session.get(ConversationMetrics, res.conversation_id)
        assert metrics.csat_score == 5


async def test_sms_reply_with_a_digit_is_the_score(client, jobs):
    inbox = await make_inbox("sms")
    agent = await make_user("agent", inbox_ids=[inbox.id])
    res = await inbound(inbox, "+14155550142", "my order?")
    await service.update(res.conversation_id, Actor("agent", agent.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    [request] = await requests_of(res.conversation_id)
    assert "Reply with a number from 1" in request.text
    await inbound(inbox, "+14155550142", " 2 ")
    [survey] = await surveys_of(res.conversation_id)
    assert survey.score == 2
    conv = await conversation(res.conversation_id)
    assert conv.status == "resolved"  # the rating did not leave the conversation open
    assert len(await surveys_of(res.conversation_id)) == 1  # and did not ask again
    # a later digit is a normal message: it reopens the conversation
    await inbound(inbox, "+14155550142", "3")
    assert (await conversation(res.conversation_id)).status == "open"


async def test_widget_gets_an_inline_prompt(client, jobs):
    inbox = await make_inbox("chat")
    agent = await make_user("agent", inbox_ids=[inbox.id])
    res = await inbound(inbox, "visitor-1", "hi")
    await service.update(res.conversation_id, Actor("agent", agent.id), status="resolved")
    await events.drain()  # ticketing reacts in the background
    [request] = await requests_of(res.conversation_id)
    assert request.meta["csat"] and request.meta["csat_scale"] == [1, 2, 3, 4, 5]
    assert "/csat/" in request.meta["csat_url"]
