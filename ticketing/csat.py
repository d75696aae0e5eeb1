"""CSAT: on every resolution the customer is asked for a 1-5 rating on the conversation's channel.

The request is an automated outbound message (`meta.csat` = the survey token) with a link to the public
page `/csat/{token}`; on SMS the text also asks to reply with a digit, and the next inbound message that
is just 1-5 is taken as the score (the conversation, reopened by that reply, goes back to resolved); the
chat widget renders an inline prompt from `meta.csat`. A survey is answered at most once.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from sqlalchemy import func, select, update

from hub import dispatch, events
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.models import Conversation, Event
from hub.settings import get_settings
from ticketing import service
from ticketing.models import CsatSurvey
from ticketing.service import Actor, ChangeRejected, Outbox

log = logging.getLogger("ticketing.csat")
DIGITS = {"1", "2", "3", "4", "5"}
_base_url: str | None = None


def set_base_url(url: str | None) -> None:
    global _base_url
    _base_url = url.rstrip("/") if url else None


def link(token: str) -> str:
    base = _base_url
    if base is None:
        try:
            base = get_settings().base_url
        except Exception:
            base = ""
    return f"{base}/csat/{token}"


def request_text(channel: str, url: str) -> str:
    if channel == "sms":
        return f"How did we do? Reply with a number from 1 (poor) to 5 (great), or rate us here: {url}"
    if channel == "chat":
        return "How would you rate this conversation? Pick 1 (poor) to 5 (great)."
    return f"Your conversation has been resolved. How did we do? Rate us from 1 to 5: {url}"


async def on_resolved(conversation_id: int) -> int | None:
    """Queue the rating request for this resolution; returns the survey id."""
    outbox = Outbox()
    async with session_scope() as session:
        conv = await service.load(session, conversation_id)
        if conv.status != "resolved":
            return None
        count = (await session.execute(select(func.count()).where(CsatSurvey.conversation_id == conv.id))).scalar_one()
        token = secrets.token_urlsafe(24)
        url = link(token)
        survey = CsatSurvey(
            conversation_id=conv.id,
            token=token,
            inbox_id=conv.inbox_id,
            channel=conv.channel,
            agent_id=conv.assignee_id,
            team_id=conv.team_id,
            resolution=int(count) + 1,
            created_at=utcnow(),
        )
        session.add(survey)
        await session.flush()
        message = await dispatch.queue_outbound(
            session,
            conv,
            text=request_text(conv.channel, url),
            author_kind="system",
            meta={"automated": True, "csat": token, "csat_url": url, "csat_scale": [1, 2, 3, 4, 5]},
        )
        survey.message_id = message.id
        # queue_outbound counts the request as activity; a resolved conversation stays resolved.
        outbox.after.append(_after(message, conv))
        survey_id = survey.id
    await outbox.flush()
    return survey_id


def _after(message: Any, conv: Conversation) -> service.AfterCommit:
    async def call() -> None:
        await dispatch.after_commit(message, conv)

    return call


async def find(token: str) -> CsatSurvey | None:
    async with session_scope() as session:
        return (await session.execute(select(CsatSurvey).where(CsatSurvey.token == token))).scalar_one_or_none()


async def answer(token: str, score: int, comment: str = "", *, via: str = "page") -> CsatSurvey:
    """Store the rating once. Raises ChangeRejected for a bad score, LookupError for an unknown token."""
    if score not in (1, 2, 3, 4, 5):
        raise ChangeRejected("The rating must be a whole number from 1 to 5.")
    comment = comment.strip()[:2000]
    now = utcnow()
    async with session_scope() as session:
        claimed = (
            await session.execute(
                update(CsatSurvey)
                .where(CsatSurvey.token == token, CsatSurvey.score.is_(None))
                .values(score=score, comment=comment, answered_at=now)
                .returning(CsatSurvey.id)
            )
        ).first()
        survey = (await session.execute(select(CsatSurvey).where(CsatSurvey.token == token))).scalar_one_or_none()
        if survey is None:
            raise LookupError("This rating link is unknown.")
        if claimed is None:
            raise ChangeRejected("This conversation has already been rated. Thank you!")
        conv = await session.get(Conversation, survey.conversation_id)
        assert conv is not None
        data = {"survey_id": survey.id, "score": score, "comment": comment, "via": via, "resolution": survey.resolution}
        session.add(
            Event(
                kind="csat.received",
                conversation_id=conv.id,
                contact_id=conv.contact_id,
                inbox_id=conv.inbox_id,
                actor_kind="contact",
                actor_id=conv.contact_id,
                data=data,
                created_at=now,
            )
        )
        event = DomainEvent(
            name="csat.received", data=data, inbox_id=conv.inbox_id, conversation_id=conv.id, contact_id=conv.contact_id
        )
    from ticketing import metrics

    await metrics.on_csat(survey.conversation_id, score)
    await events.emit(event)
    return survey


async def consume_sms_reply(conversation_id: int, message: dict[str, Any]) -> bool:
    """A bare digit 1-5 answering an open SMS survey is the score; returns True when it was one."""
    text = str(message.get("text") or "").strip().rstrip(".!")
    if message.get("direction") != "in" or text not in DIGITS:
        return False
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
        if conv is None or conv.channel != "sms":
            return False
        survey = (
            await session.execute(
                select(CsatSurvey)
                .where(CsatSurvey.conversation_id == conversation_id, CsatSurvey.score.is_(None))
                .order_by(CsatSurvey.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if survey is None:
            return False
        token = survey.token
    try:
        await answer(token, int(text), via="sms")
    except ChangeRejected:
        return False
    # The reply reopened the conversation; it was only a rating, so it goes back to resolved.
    await service.update(conversation_id, Actor("system"), source="csat", status="resolved", keep_resolved_at=True)
    return True
