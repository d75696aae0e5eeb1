"""The API channel's JSON payload -> the hub's InboundMessage."""

from __future__ import annotations

import base64
import binascii

import msgspec

from hub.inbound import Identity, InboundAttachment, InboundMessage


class Sender(msgspec.Struct, forbid_unknown_fields=True):
    id: str  # the integrator's stable id for this person
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class AttachmentIn(msgspec.Struct, forbid_unknown_fields=True):
    filename: str
    content_type: str
    data_base64: str


class ApiMessageIn(msgspec.Struct, forbid_unknown_fields=True):
    id: str  # the integrator's message id: retries with the same id are stored once
    sender: Sender
    text: str = ""
    html: str | None = None
    thread: str | None = None
    subject: str | None = None
    attachments: list[AttachmentIn] = []


class PayloadError(ValueError):
    pass


def parse(inbox_id: int, body: bytes) -> InboundMessage:
    try:
        data = msgspec.json.decode(body, type=ApiMessageIn)
    except msgspec.ValidationError as exc:
        raise PayloadError(f"The JSON does not match the message format: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc}") from exc
    if not data.id.strip():
        raise PayloadError("`id` must not be empty: it is what makes retries safe.")
    if not data.text and not data.html and not data.attachments:
        raise PayloadError("The message has no text, html or attachments.")
    also: list[Identity] = []
    if data.sender.email:
        also.append(Identity("email", data.sender.email, verified=True))
    if data.sender.phone:
        also.append(Identity("phone", data.sender.phone, verified=True))
    attachments = []
    for att in data.attachments:
        try:
            raw = base64.b64decode(att.data_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadError(f"Attachment {att.filename!r} is not valid base64.") from exc
        attachments.append(InboundAttachment(att.filename, att.content_type, data=raw, size=len(raw)))
    return InboundMessage(
        inbox_id=inbox_id,
        provider_id=data.id,
        sender=Identity("external", f"{inbox_id}:{data.sender.id}"),
        sender_name=data.sender.name,
        also_known_as=also,
        text=data.text,
        html=data.html,
        thread_key=data.thread,
        subject=data.subject,
        attachments=attachments,
    )
