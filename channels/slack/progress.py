"""What part of a multi-call Slack reply already went out, kept on the message so retries skip it."""

from __future__ import annotations

from typing import Any

from hub.db import session_scope
from hub.models import Message

KEY = "slack_progress"


async def load(message_id: int) -> dict[str, Any]:
    async with session_scope() as session:
        message = await session.get(Message, message_id)
        return dict((message.meta or {}).get(KEY) or {}) if message is not None else {}


async def save(message_id: int, state: dict[str, Any]) -> None:
    async with session_scope() as session:
        message = await session.get(Message, message_id)
        if message is not None:
            message.meta = {**(message.meta or {}), KEY: state}
