"""Real-looking raw messages, written the way common mail clients and MTAs write them."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def new_id(domain: str = "customer.test") -> str:
    return f"{secrets.token_hex(8)}@{domain}"


def simple(
    sender: str = "Ann Example <ann@customer.test>",
    to: str = "support@acme.test",
    subject: str = "Printer on fire",
    body: str = "Hello,\nmy printer is on fire.\nAnn",
    message_id: str | None = None,
    extra: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    msg["Message-ID"] = f"<{message_id or new_id()}>"
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


def gmail_reply(sender: str, to: str, in_reply_to: str, references: list[str], new_text: str, mid: str) -> bytes:
    """A Gmail-style reply: multipart/alternative, quoted history under 'On ... wrote:'."""
    refs = " ".join(f"<{r}>" for r in references)
    text = (
        f"{new_text}\r\n\r\nOn Mon, Nov 23, 2026 at 10:00 AM Acme Support <{to}> wrote:\r\n"
        "> We are looking into it.\r\n>\r\n> Best, Acme\r\n"
    )
    html = (
        f'<div dir="ltr">{new_text}</div><br><div class="gmail_quote"><div class="gmail_attr">On Mon, Nov 23, '
        f'2026 at 10:00 AM Acme Support &lt;{to}&gt; wrote:<br></div><blockquote class="gmail_quote">We are '
        "looking into it.<br>Best, Acme</blockquote></div>"
    )
    boundary = "000000000000a1b2c3d4e5f6"
    return (
        f"MIME-Version: 1.0\r\nDate: Mon, 23 Nov 2026 11:00:00 +0100\r\nReferences: {refs}\r\n"
        f"In-Reply-To: <{in_reply_to}>\r\nMessage-ID: <{mid}>\r\nSubject: Re: Printer on fire\r\n"
        f"From: {sender}\r\nTo: {to}\r\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f'--{boundary}\r\nContent-Type: text/plain; charset="UTF-8"\r\n\r\n{text}\r\n'
        f'--{boundary}\r\nContent-Type: text/html; charset="UTF-8"\r\n\r\n{html}\r\n'
        f"--{boundary}--\r\n"
    ).encode()


def latin1_outlook(sender: str = "Jörg Müller <joerg@kunde.test>", to: str = "support@acme.test") -> bytes:
    body = "Grüße aus Köln – das Gerät läuft nicht.\r\n".encode("windows-1252")
    return (
        b"From: =?iso-8859-1?Q?J=F6rg_M=FCller?= <" + sender.split("<")[1].encode() + b"\r\n"
        b"To: " + to.encode() + b"\r\n"
        b"Subject: =?iso-8859-1?Q?Ger=E4t_defekt?=\r\n"
        b"Message-ID: <" + new_id("kunde.test").encode() + b">\r\n"
        b"Date: Mon, 23 Nov 2026 09:00:00 +0100\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: text/plain; charset="windows-1252"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body
    )


def qp_utf8(to: str = "support@acme.test") -> bytes:
    return (
        "From: Zoë <zoe@customer.test>\r\nTo: " + to + "\r\nSubject: =?utf-8?B?w5xiZXIgZGllIFJlY2hudW5n?=\r\n"
        "Message-ID: <" + new_id() + ">\r\nMIME-Version: 1.0\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
        "Caf=C3=A9 na=C3=AFve =E2=82=AC 100, please refund.=\r\n Thanks\r\n"
    ).encode()


def html_only_base64(to: str = "support@acme.test") -> bytes:
    html = '<html><body><p>Hi <b>team</b>,</p><p>see <a href="https://x.test">this</a></p><script>alert(1)</script></body></html>'
    b64 = base64.encodebytes(html.encode("iso-8859-1")).decode()
    return (
        "From: news@customer.test\r\nTo: " + to + "\r\nSubject: html only\r\nMessage-ID: <" + new_id() + ">\r\n"
        'MIME-Version: 1.0\r\nContent-Type: text/html; charset="iso-8859-1"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + b64
    ).encode()


def with_attachments(to: str = "support@acme.test", big: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Bob <bob@customer.test>"
    msg["To"] = to
    msg["Subject"] = "Invoice attached"
    msg["Message-ID"] = f"<{new_id()}>"
    msg.set_content("Please see the attached invoice and photo.")
    msg.add_attachment(b"%PDF-1.4 fake pdf", maintype="application", subtype="pdf", filename="invoice.pdf")
    msg.add_attachment(b"\x89PNG\r\n\x1a\nfake", maintype="image", subtype="png", filename="photo.png")
    msg.add_attachment(b"MZ\x90\x00evil", maintype="application", subtype="x-msdownload", filename="setup.exe")
    if big:
        msg.add_attachment(b"x" * big, maintype="application", subtype="zip", filename="huge.zip")
    return msg.as_bytes()


def broken_mime(to: str = "support@acme.test") -> bytes:
    """Missing closing boundary, an unknown charset, a bad base64 part and a garbage header."""
    return (
        b"From: Broken Client <broken@customer.test>\r\n"
        b"To: " + to.encode() + b"\r\n"
        b"Subject: =?x-unknown?Q?weird?= subject\r\n"
        b"Message-ID: <" + new_id().encode() + b">\r\n"
        b"Date: not a date at all\r\n"
        b"X-Garbage: \xff\xfe\xfd\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--XYZ\r\n"
        b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        b"The body survives \xe9 anyway.\r\n"
        b"--XYZ\r\n"
        b'Content-Type: application/octet-stream; name="data.bin"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"!!!not base64 at all***\r\n"
    )


def dsn(original_id: str, to: str = "support@acme.test", recipient: str = "nobody@customer.test") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.customer.test (Mail Delivery System)\r\n"
        f"To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{new_id('mx.customer.test')}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="RPT"\r\n\r\n'
        "--RPT\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n"
        "--RPT\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.customer.test\r\nArrival-Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\nAction: failed\r\n"
        f"Status: 5.1.1\r\nRemote-MTA: dns; mail.customer.test\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown\r\n\r\n"
        "--RPT\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support@acme.test\r\nTo: {recipient}\r\nSubject: Re: help\r\nMessage-ID: <{original_id}>\r\n\r\n"
        "--RPT--\r\n"
    ).encode()


def auto_reply(sender: str = "ann@customer.test", to: str = "support@acme.test") -> bytes:
    return simple(
        sender=sender,
        to=to,
        subject="Out of office: Re: your ticket",
        body="I am out of the office until Monday.",
        extra={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )


__all__ = ["make_msgid"]
