"""Pure parsing of Slack Events API payloads, and the mapping of Slack API errors."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from channels.slack.parse import Profile, SlackPayloadError, decode, parse_event, split_thread_key, to_inbound
from channels.slack.send import _mapped
from channels.slack.settings import SlackInboxSettings

PAYLOAD = {
    "token": "XXYYZZ",
    "team_id": "T0001",
    "api_app_id": "A0001",
    "event": {
        "type": "message",
        "channel": "C2147483705",
        "user": "U2147483697",
        "text": "Hello world &amp; friends",
        "ts": "1355517523.000005",
        "event_ts": "1355517523.000005",
        "channel_type": "channel",
        "team": "T0001",
    },
    "type": "event_callback",
    "authorizations": [{"enterprise_id": None, "team_id": "T0001", "user_id": "U0BOT", "is_bot": True}],
    "event_id": "Ev08MFMKH6",
    "event_time": 1355517523,
}


def with_event(**fields):
    return {**PAYLOAD, "event": {**PAYLOAD["event"], **fields}}


def test_channel_post_becomes_inbound_message():
    post = parse_event(PAYLOAD)
    msg = to_inbound(post, 3, Profile(name="Ann", email="ann@example.test"), 10)
    assert msg.provider_id == "C2147483705:1355517523.000005"
    assert msg.thread_key == "C2147483705:1355517523.000005"
    assert (msg.sender.kind, msg.sender.address) == ("slack", "T0001:U2147483697")
    assert msg.text == "Hello world & friends"
    assert [(i.kind, i.address, i.verified) for i in msg.also_known_as] == [("email", "ann@example.test", True)]
    assert msg.sent_at is not None and msg.meta["slack"]["event_id"] == "Ev08MFMKH6"


def test_thread_reply_and_dm_keys():
    reply = parse_event(with_event(thread_ts="1355517000.000001", ts="1355517600.000002"))
    assert to_inbound(reply, 1, None, 10).thread_key == "C2147483705:1355517000.000001"
    dm = parse_event(with_event(channel="D024BE91L", channel_type="im"))
    assert to_inbound(dm, 1, None, 10).thread_key == "D024BE91L"
    assert split_thread_key("D024BE91L") == ("D024BE91L", None)
    assert split_thread_key("C1:123.456") == ("C1", "123.456")


def test_files_keep_their_url_and_oversize_ones_are_noted():
    files = [
        {"name": "shot.png", "mimetype": "image/png", "size": 5, "url_private": "https://files.slack.com/a"},
        {"name": "movie.mp4", "mimetype": "video/mp4", "size": 99, "url_private": "https://files.slack.com/b"},
    ]
    msg = to_inbound(parse_event(with_event(subtype="file_share", files=files)), 1, None, 10)
    assert [(a.filename, a.url) for a in msg.attachments] == [("shot.png", "https://files.slack.com/a")]
    assert msg.meta["slack"]["files_too_large"] == ["movie.mp4"]


@pytest.mark.parametrize(
    "fields",
    [
        {"bot_id": "B1"},
        {"subtype": "bot_message"},
        {"subtype": "message_changed"},
        {"subtype": "message_deleted"},
        {"subtype": "channel_join"},
        {"user": "U0BOT"},
        {"user": None},
        {"type": "reaction_added"},
    ],
)
def test_not_a_persons_post_is_ignored(fields):
    assert parse_event(with_event(**fields)) is None


def test_configured_bot_user_is_ignored():
    assert parse_event(with_event(user="U0OTHERBOT"), bot_user_id="U0OTHERBOT") is None


@pytest.mark.parametrize(
    "payload",
    [
        {**PAYLOAD, "event": None},
        with_event(channel=None),
        with_event(ts=5),
        with_event(thread_ts=5),
        {**with_event(team=None), "team_id": None},
    ],
)
def test_malformed_events_are_errors(payload):
    with pytest.raises(SlackPayloadError):
        parse_event(payload)


def test_decode_rejects_non_objects():
    for body in (b"", b"nope", b"[]", b'"x"'):
        with pytest.raises(SlackPayloadError):
            decode(body)


def _error(status: int, data: dict, headers: dict | None = None) -> SlackApiError:
    resp = AsyncSlackResponse(
        client=None, http_verb="POST", api_url="x", req_args={}, data=data, headers=headers or {}, status_code=status
    )
    return SlackApiError("boom", resp)


def test_slack_errors_map_to_retry_or_fail():
    limited = _mapped(_error(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}))
    assert limited.retry and limited.retry_after == 30.0
    assert _mapped(_error(500, {"ok": False, "error": "internal_error"})).retry
    gone = _mapped(_error(200, {"ok": False, "error": "channel_not_found"}))
    assert not gone.retry and gone.code == "channel_not_found"
    auth = _mapped(_error(200, {"ok": False, "error": "invalid_auth"}))
    assert not auth.retry and "bot token" in auth.reason


def test_settings_are_validated():
    s = msgspec.convert({"api_host": "https://slack-gov.com/api"}, SlackInboxSettings)
    assert s.api_host == "https://slack-gov.com/api/"
    for bad in ({"api_host": "slack.com"}, {"unknown": 1}, {"profile_ttl_seconds": -1}):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(bad, SlackInboxSettings)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
event_keys = st.sampled_from(
    ["type", "subtype", "user", "channel", "ts", "thread_ts", "team", "user_team", "files", "bot_id", "text"]
)


@settings(max_examples=300, deadline=None)
@given(
    event=st.dictionaries(event_keys, json_values, max_size=8),
    extra=st.dictionaries(st.sampled_from(["team_id", "authorizations", "event_id"]), json_values, max_size=3),
)
def test_any_json_event_is_a_post_none_or_a_payload_error(event, extra):
    """Whatever JSON arrives, parsing ends in a post, an ignore, or a clear 400 — never a crash."""
    try:
        post = parse_event({"type": "event_callback", **extra, "event": event})
    except SlackPayloadError:
        return
    if post is not None:
        to_inbound(post, 1, None, 10)
