"""hub.OutboundMessage -> an RFC 5322 message over SMTP (aiosmtplib).

The Message-ID is derived from the hub's message id and the inbox secret, so it is the same on every retry;
it is returned as the provider id, which is how a customer's reply (In-Reply-To/References) and a bounce
(DSN) find this message again. Reply-To carries the signed conversation token as a fallback for clients
that drop the threading headers. SMTP 4xx answers and network trouble are retried; 5xx are final.
"""

from __future__ import annotations

import logging
import re
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib

from channels.email import tokens
from channels.email.settings import EmailSettings, load_credentials, load_settings
from hub.crypto import sign
from hub.db import utcnow
from hub.outbound import DeliveryError, OutboundMessage, SendResult

log = logging.getLogger("channels.email.send")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|antw)\s*:", re.IGNORECASE)
MAX_REFERENCES = 20


def message_id_for(outbound: OutboundMessage, settings: EmailSettings) -> str:
    digest = sign("email-message-id", f"{outbound.inbox.id}:{outbound.message_id}")[:12]
    return f"hub.{outbound.message_id}.{digest}@{settings.domain}"


def _msgid_refs(refs: list[str]) -> list[str]:
    """Only ids that look like Message-IDs (other channels' ids never reach an email thread, but be safe)."""
    good = [r.strip("<>") for r in refs if "@" in r and not any(c in r for c in " <>\r\n")]
    if len(good) > MAX_REFERENCES:  # keep the root and the most recent ones (RFC 5322 3.6.4 advice)
        good = [good[0], *good[-(MAX_REFERENCES - 1) :]]
    return good


def build_message(outbound: OutboundMessage, settings: EmailSettings) -> tuple[EmailMessage, str]:
    if not outbound.to.address or "@" not in outbound.to.address:
        raise DeliveryError("the contact has no email address to reply to", retry=False, code="no-recipient")
    msg = EmailMessage()
    display = settings.from_name or outbound.author_name or outbound.inbox.name
    msg["From"] = formataddr((display, settings.address))
    msg["To"] = outbound.to.address
    msg["Reply-To"] = tokens.reply_address(settings.address, outbound.inbox.id, outbound.conversation_id)
    subject = (outbound.subject or "").strip() or f"Your conversation #{outbound.conversation_id}"
    refs = _msgid_refs(outbound.thread_refs)
    if refs and not _REPLY_PREFIX.match(subject):
        subject = f"Re: {subject}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(utcnow())
    message_id = message_id_for(outbound, settings)
    msg["Message-ID"] = f"<{message_id}>"
    if refs:
        msg["In-Reply-To"] = f"<{refs[-1]}>"
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    if outbound.automated:  # CSAT requests and the like: out-of-office robots should not answer them
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Hub-Conversation"] = str(outbound.conversation_id)
    msg.set_content(outbound.text or "")
    if outbound.html:
        msg.add_alternative(outbound.html, subtype="html")
    for att in outbound.attachments:
        maintype, _, subtype = (att.content_type or "application/octet-stream").partition("/")
        msg.add_attachment(
            att.data, maintype=maintype or "application", subtype=subtype or "octet-stream", filename=att.filename
        )
    return msg, message_id


async def send(outbound: OutboundMessage) -> SendResult:
    settings = load_settings(outbound.inbox.settings)
    credentials = load_credentials(outbound.inbox.credentials)
    msg, message_id = build_message(outbound, settings)
    try:
        _errors, response = await aiosmtplib.send(
            msg,
            sender=settings.address,
            recipients=[outbound.to.address],
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=credentials.smtp_password if settings.smtp_username else None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            validate_certs=settings.smtp_validate_certs,
            timeout=settings.smtp_timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients[0] if exc.recipients else None
        code = refused.code if refused is not None else 550
        text = refused.message if refused is not None else str(exc)
        raise _error(code, f"the mail server refused {outbound.to.address}: {code} {text}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise _error(exc.code, f"the mail server answered {exc.code} {exc.message}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise DeliveryError(
            f"could not reach the mail server {settings.smtp_host}:{settings.smtp_port}: {exc}",
            retry=True,
            code="connect",
        ) from exc
    return SendResult(provider_id=message_id, status="sent", meta={"smtp_response": str(response)[:500]})


def _error(code: int, reason: str) -> DeliveryError:
    return DeliveryError(reason, retry=400 <= code < 500, code=str(code))
