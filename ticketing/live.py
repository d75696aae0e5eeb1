"""The live state managers watch: open, unassigned and breaching conversations right now."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import utcnow
from hub.models import Conversation
from ticketing.models import SlaClock


async def snapshot(session: AsyncSession, inbox_ids: list[int] | None = None, limit: int = 20) -> dict[str, Any]:
    def scoped(query: Any, column: Any) -> Any:
        return query.where(column.in_(inbox_ids)) if inbox_ids is not None else query

    open_count = (
        await session.execute(scoped(select(func.count()).where(Conversation.status == "open"), Conversation.inbox_id))
    ).scalar_one()
    unassigned_q = scoped(
        select(Conversation).where(Conversation.status == "open", Conversation.assignee_id.is_(None)),
        Conversation.inbox_id,
    )
    unassigned_count = (await session.execute(select(func.count()).select_from(unassigned_q.subquery()))).scalar_one()
    unassigned = list((await session.execute(unassigned_q.order_by(Conversation.created_at).limit(limit))).scalars())
    now = utcnow()
    breaching_q = scoped(
        select(SlaClock, Conversation)
        .join(Conversation, Conversation.id == SlaClock.conversation_id)
        .where(SlaClock.state == "running", SlaClock.warned_at.is_not(None) | SlaClock.breached_at.is_not(None)),
        SlaClock.inbox_id,
    )
    breaching_rows = (await session.execute(breaching_q.order_by(SlaClock.due_at).limit(limit))).all()
    breaching_count = (await session.execute(select(func.count()).select_from(breaching_q.subquery()))).scalar_one()
    return {
        "at": now.isoformat(),
        "open": int(open_count),
        "unassigned": int(unassigned_count),
        "breaching": int(breaching_count),
        "unassigned_list": [
            {
                "id": c.id,
                "subject": c.subject,
                "channel": c.channel,
                "since": c.created_at,
            }
            for c in unassigned
        ],
        "breaching_list": [
            {
                "id": conv.id,
                "subject": conv.subject,
                "kind": clock.kind,
                "due_at": clock.due_at,
                "breached": clock.breached_at is not None,
                "assignee_id": conv.assignee_id,
            }
            for clock, conv in breaching_rows
        ],
    }
