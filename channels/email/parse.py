"""Raw RFC 822 bytes -> the facts the hub needs: pure functions, no I/O, never crashing on broken MIME.

The stdlib parser (`email.policy.default`) is lenient: it records defects instead of raising. Every header
and part access here is still guarded, because real mail has undecodable charsets, wrong lengths and
headers that trip the structured parser; whatever can be read is kept, and what cannot is reported as a
defect. Quoted reply history is stripped for the timeline by `mail-parser-reply`; the full text stays in
the message meta and the whole raw message in `original.eml`.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import msgspec
from mailparser_reply import EmailReplyParser

from hub.sanitize import html_to_text

log = logging.getLogger("channels.email.parse")

REPLY_LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "sv", "da", "pl", "cs"]
_MSGID = re.compile(r"<([^<>\s]+)>")
_MSGID_IN_TEXT = re.compile(r"(?im)^\s*Message-ID:\s*<([^<>\s]+)>")
_AUTOMATED_LOCALS = ("mailer-daemon", "postmaster")
_NOREPLY = re.compile(r"^(no-?reply|do-?not-?reply|donotreply)([+.\-].*)?$")
_BOUNCE_SUBJECT = re.compile(
    r"(?i)undeliver|delivery (status notification|failure|has failed)|returned mail|mail delivery failed|"
    r"failure notice|could not be delivered"
)
MAX_PROVIDER_ID = 255


class UnparseableEmail(ValueError):
    """Input that is not an email at all (empty, or no header block): rejected with this reason."""


class ParsedAttachment(msgspec.Struct):
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


class Bounce(msgspec.Struct):
    """A delivery report about mail the hub sent: which Message-IDs it concerns and what went wrong."""

    original_ids: list[str]
    action: str  # failed, delayed, delivered, relayed, expanded (RFC 3464); "failed" for plain bounces
    status: str | None = None
    diagnostic: str | None = None
    recipient: str | None = None
    reporting_mta: str | None = None

    @property
    def failed(self) -> bool:
        return self.action == "failed"

    def describe(self) -> str:
        parts = [f"Bounced ({self.action})"]
        if self.recipient:
            parts.append(f"for {self.recipient}")
        if self.reporting_mta:
            parts.append(f"by {self.reporting_mta}")
        text = " ".join(parts)
        if self.status or self.diagnostic:
            text += ": " + " ".join(p for p in (self.status, self.diagnostic) if p)
        return text


class ParsedEmail(msgspec.Struct, kw_only=True):
    provider_id: str  # the Message-ID (without <>), or a content hash when the message has none
    message_id: str | None
    from_address: str | None
    from_name: str | None
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    delivered_to: list[str]  # Delivered-To, X-Original-To, Envelope-To: where the MTA delivered it
    subject: str | None
    date: datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str  # the whole plain text (from the text part, else derived from HTML)
    reply_text: str  # `text` without the quoted history and signature separators
    html: str | None  # raw HTML from outside; the hub sanitises it
    quoted_stripped: bool
    attachments: list[ParsedAttachment]
    automated_reason: str | None
    bounce: Bounce | None
    defects: list[str]

    @property
    def automated(self) -> bool:
        return self.automated_reason is not None

    @property
    def thread_refs(self) -> list[str]:
        """Oldest first, as the hub expects: References, then In-Reply-To if it is not already there."""
        refs = list(dict.fromkeys(self.references))
        for ref in self.in_reply_to:
            if ref not in refs:
                refs.append(ref)
        return [r for r in refs if r != self.message_id]


def parse_message(raw: bytes) -> ParsedEmail:
    """Parse raw bytes. Raises UnparseableEmail only for input with no usable header block at all."""
    if not raw or not raw.strip():
        raise UnparseableEmail("the message is empty")
    head = raw.lstrip()[:4096].split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    if b":" not in head.split(b"\n", 1)[0]:
        raise UnparseableEmail("the message does not start with a header block (RFC 5322 'Name: value' lines)")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    defects = [type(d).__name__ for d in msg.defects]
    message_id = first_msgid(header(msg, "Message-ID"))
    from_name, from_address = _from(msg)
    text, html, attachments, part_defects = _bodies(msg)
    defects.extend(part_defects)
    if not text and html:
        text = html_to_text(html)
    reply_text = strip_quoted(text)
    stripped = reply_text != text.strip()
    return ParsedEmail(
        provider_id=provider_id_for(message_id, raw),
        message_id=message_id,
        from_address=from_address,
        from_name=from_name,
        reply_to=addresses(msg, "Reply-To"),
        to=addresses(msg, "To"),
        cc=addresses(msg, "Cc"),
        delivered_to=[
            *addresses(msg, "Delivered-To"),
            *addresses(msg, "X-Original-To"),
            *addresses(msg, "Envelope-To"),
        ],
        subject=header(msg, "Subject").strip() or None,
        date=_date(msg),
        in_reply_to=msgid_list(header(msg, "In-Reply-To")),
        references=msgid_list(header(msg, "References")),
        text=text.strip(),
        reply_text=reply_text,
        html=html,
        quoted_stripped=stripped,
        attachments=attachments,
        automated_reason=automated_reason(msg, from_address),
        bounce=parse_bounce(msg, from_address),
        defects=sorted(set(defects)),
    )


def provider_id_for(message_id: str | None, raw: bytes) -> str:
    if message_id and len(message_id) <= MAX_PROVIDER_ID:
        return message_id
    # No (usable) Message-ID: the same bytes must still give the same id, so a retry is recognised.
    # Trace headers an MTA prepends on each hop are left out of the hash.
    body = raw.replace(b"\r\n", b"\n")
    lines = body.split(b"\n")
    start = 0
    while start < len(lines) and lines[start].lower().startswith(
        (b"received:", b"return-path:", b"delivered-to:", b"x-original-to:", b" ", b"\t")
    ):
        start += 1
    digest = hashlib.sha256(b"\n".join(lines[start:])).hexdigest()
    return f"sha256:{digest}"


def header(msg: Message, name: str) -> str:
    """A header as text, however broken: the structured parser first, the raw value as a fallback."""
    try:
        values = msg.get_all(name)
        if values:
            return " ".join(str(v) for v in values)
        return ""
    except Exception:
        for key, value in msg.raw_items():
            if key.lower() == name.lower():
                return str(value)
        return ""


def addresses(msg: Message, name: str) -> list[str]:
    raw = header(msg, name)
    if not raw:
        return []
    found: list[str] = []
    for _, addr in getaddresses([raw]):
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and " " not in addr and addr not in found:
            found.append(addr)
    return found


def msgid_list(value: str) -> list[str]:
    ids = _MSGID.findall(value or "")
    if not ids and value and "@" in value:
        ids = [t.strip("<>") for t in value.split() if "@" in t]  # some clients drop the angle brackets
    return list(dict.fromkeys(i for i in ids if len(i) <= MAX_PROVIDER_ID))


def first_msgid(value: str) -> str | None:
    ids = msgid_list(value)
    return ids[0] if ids else None


def _from(msg: Message) -> tuple[str | None, str | None]:
    for name in ("From", "Sender", "Return-Path"):
        raw = header(msg, name)
        if not raw:
            continue
        display, addr = parseaddr(raw)
        addr = addr.strip().strip("<>").lower()
        if "@" in addr and " " not in addr:
            return (display.strip() or None), addr
    return None, None


def _date(msg: Message) -> datetime | None:
    raw = header(msg, "Date")
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _walk(part: Message) -> Iterator[Message]:
    """Leaf parts in order; an attached message (message/rfc822) is one leaf, not descended into."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, Message):
                    yield from _walk(sub)
        return
    yield part


def _decode_text(part: Message) -> tuple[str, list[str]]:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content, []
    except (LookupError, UnicodeError, AssertionError, KeyError, ValueError) as exc:
        defect = f"undecodable text part ({type(exc).__name__})"
    else:
        defect = "non-text payload in a text part"
    data = _payload_bytes(part)
    for charset in ("utf-8", "windows-1252"):
        try:
            return data.decode(charset), [defect]
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), [defect]


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    if part.get_content_type() == "message/rfc822" or isinstance(part.get_payload(), list):
        try:
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0].as_bytes()
            return part.as_bytes()
        except Exception:
            return b""
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        try:
            name = part.get_param("name")  # type: ignore[assignment]
        except Exception:
            name = None
    if isinstance(name, tuple):  # an RFC 2231 value the stdlib could not collapse
        name = email.utils.collapse_rfc2231_value(name)
    if not name:
        return None
    name = str(name).replace("\\", "/").rsplit("/", 1)[-1].strip().replace("\x00", "")
    return name or None


def _bodies(msg: EmailMessage) -> tuple[str, str | None, list[ParsedAttachment], list[str]]:
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[ParsedAttachment] = []
    defects: list[str] = []
    for part in _walk(msg):
        try:
            ctype = part.get_content_type()
            disposition = (part.get_content_disposition() or "").lower()
            filename = _filename(part)
            is_attachment = disposition == "attachment" or (filename is not None and disposition != "inline")
            if ctype in ("text/plain", "text/html") and not is_attachment:
                if ctype == "text/html" and filename is not None:
                    is_attachment = True
                else:
                    body, text_defects = _decode_text(part)
                    defects.extend(text_defects)
                    (texts if ctype == "text/plain" else htmls).append(body)
                    continue
            if ctype == "message/delivery-status" or ctype == "text/rfc822-headers":
                continue  # read by parse_bounce; not something an agent downloads
            data = _payload_bytes(part)
            if not data and ctype.startswith("multipart/"):
                continue
            ext = {"message/rfc822": ".eml", "text/plain": ".txt", "text/html": ".html"}.get(ctype, ".bin")
            cid = header(part, "Content-ID").strip().strip("<>") or None
            attachments.append(
                ParsedAttachment(
                    filename=filename or f"attachment-{len(attachments) + 1}{ext}",
                    content_type=ctype,
                    data=data,
                    inline=disposition == "inline" or (cid is not None and disposition != "attachment"),
                    content_id=cid,
                )
            )
        except Exception as exc:  # one broken part never loses the rest of the message
            log.info("skipping unreadable MIME part: %s", exc)
            defects.append(f"unreadable part ({type(exc).__name__})")
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    html = "\n".join(htmls) if htmls else None
    return text, html, attachments, defects


def strip_quoted(text: str) -> str:
    """The new part of a reply: the history under "On ... wrote:" and trailing "> " lines removed."""
    if not text.strip():
        return ""
    try:
        reply = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text) or ""
    except Exception:  # the library's regexes must never cost us the message
        reply = text
    lines = reply.strip().splitlines()
    while lines and (lines[-1].startswith(">") or not lines[-1].strip()):
        lines.pop()
    result = "\n".join(lines).strip()
    return result or text.strip()


def automated_reason(msg: Message, from_address: str | None) -> str | None:
    """Why nothing should ever answer this automatically (auto-replies, bounces, lists, bulk), or None."""
    auto = header(msg, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = header(msg, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autogenerated"):
        if header(msg, name):
            return f"{name} header"
    if header(msg, "List-Id") or header(msg, "List-Unsubscribe"):
        return "mailing list"
    if msg.get_content_type() == "multipart/report":
        return "delivery or read report"
    if header(msg, "Return-Path").strip() == "<>":
        return "null return path (a bounce)"
    if from_address:
        local = from_address.partition("@")[0]
        if local.startswith(_AUTOMATED_LOCALS):
            return f"sent by {local}"
        if _NOREPLY.match(local):
            return "no-reply sender"
    return None


def parse_bounce(msg: Message, from_address: str | None = None) -> Bounce | None:
    """A DSN (multipart/report; report-type=delivery-status), or a plain bounce from a mailer daemon."""
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type") or "").lower() == "delivery-status"
    )
    local = (from_address or "").partition("@")[0]
    plain_bounce = local.startswith(_AUTOMATED_LOCALS) and bool(_BOUNCE_SUBJECT.search(header(msg, "Subject")))
    if not is_report and not plain_bounce:
        return None
    ids: list[str] = []
    fields: dict[str, str] = {}
    recipient_fields: dict[str, str] = {}
    texts: list[str] = []
    for part in _walk(msg):
        try:
            ctype = part.get_content_type()
            if ctype == "message/delivery-status":
                blocks = part.get_payload()
                headers_blocks = [b for b in blocks if isinstance(b, Message)] if isinstance(blocks, list) else []
                if headers_blocks:
                    fields = {k.lower(): str(v).strip() for k, v in headers_blocks[0].items()}
                    per_recipient = [{k.lower(): str(v).strip() for k, v in b.items()} for b in headers_blocks[1:]]
                    failed = [r for r in per_recipient if r.get("action", "").lower() == "failed"]
                    recipient_fields = (failed or per_recipient or [{}])[0]
            elif ctype == "message/rfc822":
                inner = part.get_payload()
                if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                    ids.extend(msgid_list(header(inner[0], "Message-ID")))
            elif ctype == "text/rfc822-headers":
                raw = _payload_bytes(part)
                inner_msg = email.message_from_bytes(raw, policy=email.policy.default)
                ids.extend(msgid_list(header(inner_msg, "Message-ID")))
            elif ctype == "text/plain":
                texts.append(_decode_text(part)[0])
        except Exception as exc:
            log.info("unreadable part in a delivery report: %s", exc)
    for text in texts:
        ids.extend(_MSGID_IN_TEXT.findall(text))
    ids.extend(msgid_list(header(msg, "In-Reply-To")))
    ids.extend(msgid_list(header(msg, "References")))
    own = first_msgid(header(msg, "Message-ID"))
    action = recipient_fields.get("action", "failed").lower()
    diagnostic = recipient_fields.get("diagnostic-code")
    if diagnostic and ";" in diagnostic:
        diagnostic = diagnostic.split(";", 1)[1].strip()
    recipient = recipient_fields.get("final-recipient") or recipient_fields.get("original-recipient")
    if recipient and ";" in recipient:
        recipient = recipient.split(";", 1)[1].strip()
    mta = fields.get("reporting-mta")
    if mta and ";" in mta:
        mta = mta.split(";", 1)[1].strip()
    return Bounce(
        original_ids=[i for i in dict.fromkeys(ids) if i != own],
        action=action,
        status=recipient_fields.get("status"),
        diagnostic=(diagnostic or None) and diagnostic[:500],
        recipient=recipient,
        reporting_mta=mta,
    )
