"""Twilio's inbound SMS/MMS form -> the hub's InboundMessage. Pure functions, no I/O."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from typing import Literal

from hub.identities import InvalidAddress, normalise_phone
from hub.inbound import Identity, InboundAttachment, InboundMessage

Keyword = Literal["stop", "start", "help"]

# The keywords carriers and Twilio treat as opt-out / opt-in / help (whole message, any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
MAX_MEDIA = 10  # Twilio delivers at most 10 media items per MMS


class SmsPayloadError(ValueError):
    """The form is not a Twilio inbound message; the text says which field is wrong."""


def keyword(body: str) -> Keyword | None:
    """The opt-out/opt-in/help keyword a message consists of, if any (`stop.` and ` Stop ` count)."""
    word = body.strip().strip(".!?").strip().upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def phone(value: str, field: str, region: str) -> str:
    if not value:
        raise SmsPayloadError(f"the {field} field is missing")
    prefix, sep, _ = value.partition(":")
    if sep and prefix.lower() not in ("tel", "sms"):
        raise SmsPayloadError(f"{field}={value!r} is a {prefix} address; this inbox handles SMS/MMS only")
    try:
        return normalise_phone(value, region)
    except InvalidAddress as exc:
        raise SmsPayloadError(f"{field}: {exc}; only SMS/MMS phone numbers are supported") from exc


def thread_key(inbox_number: str, customer_number: str) -> str:
    """One conversation per (inbox number, customer number) pair, both in E.164."""
    return f"{inbox_number}:{customer_number}"


def parse_sms(form: Mapping[str, str], inbox_id: int, region: str = "US") -> InboundMessage:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if not sid:
        raise SmsPayloadError("the MessageSid field is missing")
    sender = phone(form.get("From", ""), "From", region)
    to = phone(form.get("To", ""), "To", region)
    try:
        num_media = int(form.get("NumMedia") or "0")
    except ValueError as exc:
        raise SmsPayloadError(f"NumMedia={form.get('NumMedia')!r} is not a number") from exc
    if not 0 <= num_media <= MAX_MEDIA:
        raise SmsPayloadError(f"NumMedia={num_media} is out of range (0-{MAX_MEDIA})")
    attachments = []
    for i in range(num_media):
        url = form.get(f"MediaUrl{i}", "")
        if not url.startswith(("https://", "http://")):
            raise SmsPayloadError(f"MediaUrl{i} is missing or not a URL although NumMedia={num_media}")
        content_type = form.get(f"MediaContentType{i}") or "application/octet-stream"
        ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
        # The bytes stay with Twilio until someone opens them; the hub keeps the URL and type.
        attachments.append(InboundAttachment(filename=f"media-{i + 1}{ext}", content_type=content_type, url=url))
    body = form.get("Body", "")
    meta = {
        "sms": {
            k: v
            for k, v in {
                "to": to,
                "from": sender,
                "segments": form.get("NumSegments"),
                "from_country": form.get("FromCountry"),
                "from_city": form.get("FromCity"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "keyword": keyword(body),
            }.items()
            if v
        }
    }
    return InboundMessage(
        inbox_id=inbox_id,
        provider_id=sid,
        sender=Identity("phone", sender),
        sender_name=None,
        text=body,
        thread_key=thread_key(to, sender),
        attachments=attachments,
        meta=meta,
    )


# Twilio's MessageStatus -> the hub's delivery status; None means "nothing to show yet".
STATUS_MAP: dict[str, str | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}

# The error codes agents meet most often, in words they can act on.
ERROR_TEXT = {
    "21211": "the customer's number is not a valid phone number",
    "21408": "SMS to this country is not enabled on the Twilio account",
    "21610": "the customer replied STOP; they must text START before we can message them",
    "21612": "Twilio cannot route a message between these two numbers",
    "21614": "the customer's number is not a mobile number",
    "21617": "the message is longer than 1600 characters",
    "30003": "the customer's phone is switched off or unreachable",
    "30004": "the message was blocked (the customer may have blocked the number)",
    "30005": "the number is unknown to the carrier or no longer in service",
    "30006": "the number is a landline or cannot receive SMS",
    "30007": "the carrier filtered the message as spam",
    "30008": "the carrier reported an unknown error",
}


def parse_status(form: Mapping[str, str]) -> tuple[str, str | None, str | None]:
    """(MessageSid, hub status or None, Twilio error code or None) from a StatusCallback form."""
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    if not sid:
        raise SmsPayloadError("the MessageSid field is missing")
    raw = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if raw not in STATUS_MAP:
        raise SmsPayloadError(f"MessageStatus={raw!r} is not a Twilio message status")
    code = form.get("ErrorCode") or None
    return sid, STATUS_MAP[raw], code


def error_text(code: str | None, fallback: str = "") -> str:
    if code and code in ERROR_TEXT:
        return f"Twilio: {ERROR_TEXT[code]}"
    return f"Twilio: {fallback or 'the message could not be delivered'}"
