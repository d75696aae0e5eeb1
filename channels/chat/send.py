"""Agent replies to a widget visitor: published on the conversation's topic, where the visitor's open
sockets (in any web process) pick it up; a visitor who is away gets it from history on return."""

from __future__ import annotations

import msgspec
from sqlalchemy import select

from channels.chat.reads import read_scope
from hub.models import Attachment, Message
from hub.outbound import DeliveryError, OutboundMessage, SendResult
from hub.realtime import get_broker
from hub.schemas import AttachmentOut, message_out

_encode = msgspec.json.Encoder().encode


async def send(message: OutboundMessage) -> SendResult:
    async with read_scope() as session:
        row = await session.get(Message, message.message_id)
        if row is None:
            raise DeliveryError("the message no longer exists", retry=False)
        atts = [
            AttachmentOut(a[0], a[1], a[2], a[3], f"/api/v1/widget/attachments/{a[0]}")
            for a in (
                await session.execute(
                    select(Attachment.id, Attachment.filename, Attachment.content_type, Attachment.size).where(
                        Attachment.message_id == row.id
                    )
                )
            ).all()
        ]
        data = msgspec.to_builtins(message_out(row, atts))
    data["status"] = "delivered"
    if message.author_name:
        data["author_name"] = message.author_name
    payload = _encode(
        {
            "event": "chat.message",
            "inbox_id": message.inbox.id,
            "conversation_id": message.conversation_id,
            "data": data,
        }
    )
    try:
        await get_broker().publish(f"conversation:{message.conversation_id}", payload)
    except Exception as exc:
        raise DeliveryError(f"realtime publish failed: {exc}", retry=True) from exc
    return SendResult(provider_id=None, status="delivered")
