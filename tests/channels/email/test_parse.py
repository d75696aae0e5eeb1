"""Pure parsing: charsets, parts, attachments, quoted history, automated mail, delivery reports."""

from __future__ import annotations

import pytest

from channels.email import parse, tokens
from hub import crypto
from tests.channels.email import samples


def test_plain_message_headers_and_body():
    mid = samples.new_id()
    p = parse.parse_message(samples.simple(message_id=mid))
    assert p.message_id == mid and p.provider_id == mid
    assert p.from_address == "ann@customer.test" and p.from_name == "Ann Example"
    assert p.to == ["support@acme.test"]
    assert p.subject == "Printer on fire"
    assert "printer is on fire" in p.text and p.reply_text == p.text
    assert p.date is not None and p.date.tzinfo is not None
    assert not p.automated and p.bounce is None and p.html is None


def test_windows_1252_and_encoded_words():
    p = parse.parse_message(samples.latin1_outlook())
    assert p.from_name == "Jörg Müller"
    assert p.subject == "Gerät defekt"
    assert "Grüße aus Köln – das Gerät" in p.text


def test_utf8_quoted_printable_and_base64_subject():
    p = parse.parse_message(samples.qp_utf8())
    assert p.subject == "Über die Rechnung"
    assert "Café naïve € 100, please refund. Thanks" in p.text


def test_html_only_base64_latin1_gets_text_and_raw_html():
    p = parse.parse_message(samples.html_only_base64())
    assert p.html is not None and "<script>" in p.html  # raw: the hub sanitises at ingest
    assert "Hi team" in p.text and "alert" not in p.text


def test_reply_history_stripped_but_full_text_kept():
    raw = samples.gmail_reply(
        "Ann <ann@customer.test>", "support@acme.test", "a@x", ["root@x", "a@x"], "Still burning!", samples.new_id()
    )
    p = parse.parse_message(raw)
    assert p.reply_text == "Still burning!"
    assert p.quoted_stripped
    assert "We are looking into it" in p.text
    assert p.thread_refs == ["root@x", "a@x"]
    assert p.html is not None and "gmail_quote" in p.html


def test_german_reply_header_is_stripped():
    body = "Danke, passt.\n\nAm 23.11.2026 um 10:00 schrieb Acme Support <support@acme.test>:\n> Alte Nachricht\n"
    assert parse.strip_quoted(body) == "Danke, passt."


def test_trailing_quote_lines_without_header_are_stripped():
    assert parse.strip_quoted("ok thanks\n\n> old\n> older\n") == "ok thanks"
    assert parse.strip_quoted("> only a quote\n") == "> only a quote"  # nothing new: keep everything


def test_attachments_extracted_with_types():
    p = parse.parse_message(samples.with_attachments())
    names = {a.filename: a for a in p.attachments}
    assert set(names) == {"invoice.pdf", "photo.png", "setup.exe"}
    assert names["invoice.pdf"].content_type == "application/pdf"
    assert names["invoice.pdf"].data == b"%PDF-1.4 fake pdf"
    assert p.text.startswith("Please see the attached")


def test_broken_mime_never_raises_and_keeps_what_it_can():
    p = parse.parse_message(samples.broken_mime())
    assert p.from_address == "broken@customer.test"
    assert "The body survives" in p.text
    assert p.date is None
    assert p.defects  # reported, not fatal


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n",
        b"this is not an email at all, just a line of text\nand another",
        b"\x00\x01\x02\x03binary junk",
    ],
)
def test_not_an_email_is_rejected_with_a_reason(raw):
    with pytest.raises(parse.UnparseableEmail):
        parse.parse_message(raw)


def test_headers_only_message():
    p = parse.parse_message(b"From: a@b.test\r\nSubject: empty\r\n\r\n")
    assert p.text == "" and p.from_address == "a@b.test"
    assert p.provider_id.startswith("sha256:")


def test_missing_message_id_gets_a_stable_content_hash():
    raw = b"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n"
    with_trace = b"Received: from x by y; Mon, 23 Nov 2026 10:00:00 +0000\r\n" + raw
    assert parse.parse_message(raw).provider_id == parse.parse_message(with_trace).provider_id
    assert parse.parse_message(raw).provider_id != parse.parse_message(raw + b"more").provider_id


@pytest.mark.parametrize(
    ("extra", "sender"),
    [
        ({"Auto-Submitted": "auto-replied"}, "ann@customer.test"),
        ({"Precedence": "bulk"}, "ann@customer.test"),
        ({"Precedence": "list"}, "ann@customer.test"),
        ({"Precedence": "junk"}, "ann@customer.test"),
        ({"X-Autoreply": "yes"}, "ann@customer.test"),
        ({"List-Id": "<announce.lists.customer.test>"}, "ann@customer.test"),
        ({}, "MAILER-DAEMON@mx.customer.test"),
        ({}, "postmaster@customer.test"),
        ({}, "no-reply@shop.test"),
    ],
)
def test_automated_mail_is_flagged(extra, sender):
    p = parse.parse_message(samples.simple(sender=sender, extra=extra))
    assert p.automated, (extra, sender)


def test_auto_submitted_no_is_human():
    p = parse.parse_message(samples.simple(extra={"Auto-Submitted": "no"}))
    assert not p.automated


def test_dsn_is_parsed():
    p = parse.parse_message(samples.dsn("hub.42.abc@acme.test"))
    assert p.automated
    assert p.bounce is not None
    assert p.bounce.failed and p.bounce.original_ids == ["hub.42.abc@acme.test"]
    assert p.bounce.status == "5.1.1"
    assert p.bounce.recipient == "nobody@customer.test"
    assert p.bounce.reporting_mta == "mx.customer.test"
    assert "User unknown" in (p.bounce.diagnostic or "")
    assert "5.1.1" in p.bounce.describe()


def test_plain_text_bounce_finds_original_id_in_body():
    raw = (
        b"From: Mail Delivery Subsystem <mailer-daemon@mx.test>\r\nTo: support@acme.test\r\n"
        b"Subject: Delivery Status Notification (Failure)\r\nMessage-ID: <b1@mx.test>\r\n\r\n"
        b"Delivery to the following recipient failed permanently:\r\n\r\n   x@y.test\r\n\r\n"
        b"----- Original message -----\r\n\r\nMessage-ID: <hub.7.ff@acme.test>\r\nSubject: Re: hi\r\n"
    )
    p = parse.parse_message(raw)
    assert p.bounce is not None and p.bounce.original_ids == ["hub.7.ff@acme.test"]


def test_reply_token_round_trip(monkeypatch):
    monkeypatch.setattr(crypto, "_secret", b"k" * 40)
    addr = tokens.reply_address("support@acme.test", 5, 1234)
    assert addr.startswith("support+c1234.") and addr.endswith("@acme.test")
    assert tokens.conversation_from([addr], "support@acme.test", 5) == 1234
    assert tokens.conversation_from([addr.upper()], "support@acme.test", 5) == 1234
    assert tokens.conversation_from([addr], "support@acme.test", 6) is None  # another inbox
    forged = addr.replace("c1234.", "c1235.")
    assert tokens.conversation_from([forged], "support@acme.test", 5) is None
    assert tokens.conversation_from(["support+whatever@acme.test"], "support@acme.test", 5) is None
