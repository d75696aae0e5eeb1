"""Canned responses: saved replies with `{{contact.name}}`-style variables.

Rendering is a plain lookup in a fixed table of names — no expression language, no attribute access on
live objects — so a template can never reach anything but the values listed in `VARIABLES`. Unknown
variables render as nothing; HTML output escapes every value.
"""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.models import Contact, Conversation, Inbox, User
from ticketing.models import CannedResponse
from ticketing.service import ChangeRejected

VARIABLES = (
    "contact.name",
    "contact.first_name",
    "contact.email",
    "contact.phone",
    "contact.company",
    "agent.name",
    "agent.first_name",
    "agent.email",
    "conversation.id",
    "conversation.subject",
    "inbox.name",
)
_PATTERN = re.compile(r"\{\{\s*([a-zA-Z_]+\.[a-zA-Z_]+)\s*\}\}")


def variables(
    conv: Conversation | None, contact: Contact | None, agent: User | None, inbox: Inbox | None
) -> dict[str, str]:
    name = (contact.name if contact else "") or ""
    agent_name = (agent.name if agent else "") or ""
    return {
        "contact.name": name,
        "contact.first_name": name.split(" ")[0] if name else "",
        "contact.email": (contact.email if contact else "") or "",
        "contact.phone": (contact.phone if contact else "") or "",
        "contact.company": (contact.company if contact else "") or "",
        "agent.name": agent_name,
        "agent.first_name": agent_name.split(" ")[0] if agent_name else "",
        "agent.email": (agent.email if agent else "") or "",
        "conversation.id": str(conv.id) if conv else "",
        "conversation.subject": (conv.subject if conv else "") or "",
        "inbox.name": (inbox.name if inbox else "") or "",
    }


def render(template: str, values: dict[str, str], *, as_html: bool = False) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = values.get(match.group(1).lower(), "")
        return html.escape(value) if as_html else value

    return _PATTERN.sub(substitute, template)


def unknown_variables(template: str) -> list[str]:
    return sorted({m.group(1) for m in _PATTERN.finditer(template)} - set(VARIABLES))


async def body_of(session: AsyncSession, canned_id: int) -> str:
    row = await session.get(CannedResponse, canned_id)
    if row is None:
        raise ChangeRejected(f"No canned response {canned_id}.")
    return row.body


async def search(session: AsyncSession, q: str, limit: int = 20) -> list[CannedResponse]:
    query = select(CannedResponse).order_by(CannedResponse.shortcut).limit(limit)
    if q.strip():
        like = f"%{q.strip().lower()}%"
        query = query.where(
            or_(
                CannedResponse.shortcut.ilike(like),
                CannedResponse.title.ilike(like),
                CannedResponse.body.ilike(like),
            )
        )
    return list((await session.execute(query)).scalars())


async def render_for(session: AsyncSession, body: str, conversation_id: int, agent_id: int | None) -> str:
    conv = await session.get(Conversation, conversation_id)
    if conv is None:
        raise ChangeRejected(f"No conversation {conversation_id}.")
    contact = await session.get(Contact, conv.contact_id)
    agent = await session.get(User, agent_id) if agent_id else None
    inbox = await session.get(Inbox, conv.inbox_id)
    return render(body, variables(conv, contact, agent, inbox))


def describe(row: CannedResponse) -> dict[str, Any]:
    return {"id": row.id, "shortcut": row.shortcut, "title": row.title, "body": row.body}
