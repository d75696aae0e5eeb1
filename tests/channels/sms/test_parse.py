"""Pure parsing of Twilio payloads and settings."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.sms.parse import SmsPayloadError, error_text, keyword, parse_sms, parse_status
from channels.sms.settings import SmsInboxSettings

FORM = {
    "ToCountry": "US",
    "SmsMessageSid": "SM0123456789abcdef0123456789abcdef",
    "NumMedia": "0",
    "FromCity": "NEW YORK",
    "Body": "Hi, is my order shipped?",
    "FromCountry": "US",
    "To": "+14155550100",
    "MessagingServiceSid": "",
    "NumSegments": "1",
    "MessageSid": "SM0123456789abcdef0123456789abcdef",
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "From": "+12125550123",
    "ApiVersion": "2010-04-01",
}


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ("STOP", "stop"),
        (" stop ", "stop"),
        ("Stop.", "stop"),
        ("unsubscribe", "stop"),
        ("STOPALL", "stop"),
        ("cancel", "stop"),
        ("End", "stop"),
        ("quit", "stop"),
        ("start", "start"),
        ("YES", "start"),
        ("unstop", "start"),
        ("help", "help"),
        ("please stop", None),
        ("stopping by later", None),
        ("", None),
    ],
)
def test_keywords(body, word):
    assert keyword(body) == word


def test_parse_real_form():
    msg = parse_sms(FORM, inbox_id=7)
    assert msg.provider_id == FORM["MessageSid"]
    assert (msg.sender.kind, msg.sender.address) == ("phone", "+12125550123")
    assert msg.thread_key == "+14155550100:+12125550123"
    assert msg.meta["sms"]["from_city"] == "NEW YORK"
    assert "messaging_service_sid" not in msg.meta["sms"]


def test_national_numbers_are_normalised_with_the_region():
    msg = parse_sms({**FORM, "From": "(212) 555-0123"}, inbox_id=1)
    assert msg.sender.address == "+12125550123"


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "", "SmsMessageSid": ""},
        {"From": ""},
        {"From": "whatsapp:+12125550123"},
        {"To": "abc"},
        {"NumMedia": "-1"},
        {"NumMedia": "11"},
        {"NumMedia": "1"},
        {"NumMedia": "1", "MediaUrl0": "ftp://x"},
    ],
)
def test_malformed_forms_are_rejected_with_a_reason(change):
    with pytest.raises(SmsPayloadError) as info:
        parse_sms({**FORM, **change}, inbox_id=1)
    assert str(info.value)


def test_status_callbacks():
    assert parse_status({"MessageSid": "SM1", "MessageStatus": "delivered"}) == ("SM1", "delivered", None)
    assert parse_status({"MessageSid": "SM1", "MessageStatus": "queued"}) == ("SM1", None, None)
    assert parse_status({"SmsSid": "SM1", "SmsStatus": "undelivered", "ErrorCode": "30005"}) == (
        "SM1",
        "failed",
        "30005",
    )
    with pytest.raises(SmsPayloadError):
        parse_status({"MessageSid": "SM1", "MessageStatus": "exploded"})
    with pytest.raises(SmsPayloadError):
        parse_status({"MessageStatus": "sent"})
    assert "unknown to the carrier" in error_text("30005")
    assert error_text("99999") == "Twilio: the message could not be delivered"


def test_settings_are_validated():
    ok = msgspec.convert({"phone_number": "(415) 555-0100", "api_host": "http://127.0.0.1:9/"}, SmsInboxSettings)
    assert ok.phone_number == "+14155550100" and ok.api_host == "http://127.0.0.1:9"
    for bad in (
        {},
        {"phone_number": "nope"},
        {"phone_number": "+14155550100", "api_host": "ftp://x"},
        {"phone_number": "+14155550100", "colour": "red"},
    ):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, SmsInboxSettings)


@settings(max_examples=300, deadline=None)
@given(
    form=st.dictionaries(
        st.sampled_from(["MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0"]),
        st.text(max_size=20) | st.sampled_from(["+12125550123", "1", "0", "https://x/y", "whatsapp:+1"]),
    )
)
def test_any_form_parses_or_is_a_payload_error(form):
    """Whatever the form holds, parsing ends in a message or a clear 400 — never a crash."""
    try:
        parse_sms(form, inbox_id=1)
    except SmsPayloadError:
        pass
    try:
        parse_status(form)
    except SmsPayloadError:
        pass
