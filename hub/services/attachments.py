"""Attachment downloads, allowed to whoever may see the conversation's inbox."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import undefer

from hub.auth.principal import Principal
from hub.db import session_scope
from hub.models import Attachment, Message
from hub.services.errors import NotFound


class AttachmentFile(msgspec.Struct):
    filename: str
    content_type: str
    data: bytes


async def read_attachment(principal: Principal, attachment_id: int) -> AttachmentFile:
    async with session_scope() as session:
        row = (
            await session.execute(
                select(Attachment, Message.inbox_id)
                .join(Message, Message.id == Attachment.message_id)
                .where(Attachment.id == attachment_id)
                .options(undefer(Attachment.data))
            )
        ).first()
        if row is None or not principal.can_see_inbox(row[1]):
            raise NotFound("Attachment not found")
        att: Attachment = row[0]
        if att.data is None:
            raise NotFound("This attachment has not been downloaded from the provider yet; try again shortly.")
        return AttachmentFile(att.filename, att.content_type, att.data)
