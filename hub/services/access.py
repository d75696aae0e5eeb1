"""Who may see what: admins and managers see every inbox, agents only the inboxes they are members of.

Anything outside the caller's inboxes answers exactly like something that does not exist, so ids cannot
be probed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.principal import Principal
from hub.models import Contact, Conversation
from hub.services.errors import NotFound


def inbox_clause(principal: Principal, column: Any) -> ColumnElement[bool]:
    """A WHERE clause limiting `column` (an inbox id column) to the principal's inboxes."""
    if principal.inbox_ids is None:
        return true()
    if not principal.inbox_ids:
        return false()
    return column.in_(sorted(principal.inbox_ids))  # type: ignore[no-any-return]


def contact_clause(principal: Principal, contact_id: Any) -> ColumnElement[bool]:
    """Agents see a contact only through a conversation in one of their inboxes."""
    if principal.inbox_ids is None:
        return true()
    return exists(
        select(Conversation.id).where(
            Conversation.contact_id == contact_id, inbox_clause(principal, Conversation.inbox_id)
        )
    )


async def visible_conversation(
    session: AsyncSession, principal: Principal, conversation_id: int, *, for_update: bool = False
) -> Conversation:
    query = select(Conversation).where(Conversation.id == conversation_id)
    if for_update:
        query = query.with_for_update()
    conv = (await session.execute(query)).scalar_one_or_none()
    if conv is None or not principal.can_see_inbox(conv.inbox_id):
        raise NotFound("Conversation not found")
    return conv


async def visible_contact(session: AsyncSession, principal: Principal, contact_id: int) -> Contact:
    contact = (
        await session.execute(select(Contact).where(Contact.id == contact_id, contact_clause(principal, Contact.id)))
    ).scalar_one_or_none()
    if contact is None:
        raise NotFound("Contact not found")
    return contact
