"""Slack Events API payloads -> the hub's InboundMessage. Pure functions, no I/O.

A Slack thread in a channel (keyed by channel and thread_ts, or the message's own ts when it starts one)
is one conversation; a direct message channel is one conversation. Provider ids are `channel:ts`,
which Slack guarantees unique and which its retries repeat.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from hub.inbound import Identity, InboundAttachment, InboundMessage

# Subtypes that are still a person posting; everything else (edits, joins, bot posts ...) is ignored.
USER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
EVENT_TYPES = frozenset({"message", "app_mention"})


class SlackPayloadError(ValueError):
    """The body is not a Slack Events API payload; the text says what is wrong."""


class SlackPost(msgspec.Struct, kw_only=True):
    """A person's post, as far as the payload tells."""

    team: str
    user: str
    channel: str
    channel_type: str
    ts: str
    thread_ts: str | None
    text: str
    files: list[dict[str, Any]]
    event_id: str


class Profile(msgspec.Struct, kw_only=True):
    name: str | None = None
    email: str | None = None


def decode(body: bytes) -> dict[str, Any]:
    try:
        payload = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise SlackPayloadError(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise SlackPayloadError("the body must be a JSON object")
    return payload


def challenge(payload: dict[str, Any]) -> str:
    value = payload.get("challenge")
    if not isinstance(value, str) or not value:
        raise SlackPayloadError("url_verification without a challenge")
    return value


def _str(event: dict[str, Any], key: str, required: bool = True) -> str:
    value = event.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise SlackPayloadError(f"the event's {key!r} is missing or not a string")
    return value


def own_user_ids(payload: dict[str, Any], bot_user_id: str = "") -> set[str]:
    """The app's own bot user ids: configured, and those Slack lists in `authorizations`."""
    ids = {bot_user_id} if bot_user_id else set()
    auths = payload.get("authorizations")
    for auth in auths if isinstance(auths, list) else []:
        if isinstance(auth, dict) and auth.get("is_bot") and isinstance(auth.get("user_id"), str):
            ids.add(auth["user_id"])
    return ids


def parse_event(payload: dict[str, Any], bot_user_id: str = "") -> SlackPost | None:
    """The person's post in an event_callback, or None when the event is not one (ignored, not an error)."""
    event = payload.get("event")
    if not isinstance(event, dict):
        raise SlackPayloadError("event_callback without an event object")
    kind, subtype = event.get("type"), event.get("subtype")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        return None
    if event.get("bot_id") or event.get("bot_profile") or event.get("hidden"):
        return None
    if not (subtype is None or isinstance(subtype, str)) or subtype not in USER_SUBTYPES:
        return None
    user = event.get("user")
    if not isinstance(user, str) or not user or user in own_user_ids(payload, bot_user_id):
        return None
    team = event.get("user_team") or event.get("team") or payload.get("team_id")
    if not isinstance(team, str) or not team:
        raise SlackPayloadError("the event names no team (team_id)")
    thread_ts = event.get("thread_ts")
    if thread_ts is not None and not isinstance(thread_ts, str):
        raise SlackPayloadError("thread_ts is not a string")
    raw_files = event.get("files")
    files = [f for f in raw_files if isinstance(f, dict)] if isinstance(raw_files, list) else []
    channel = _str(event, "channel")
    return SlackPost(
        team=team,
        user=user,
        channel=channel,
        channel_type=str(event.get("channel_type") or ("im" if channel.startswith("D") else "channel")),
        ts=_str(event, "ts"),
        thread_ts=thread_ts,
        text=_str(event, "text", required=False),
        files=files,
        event_id=str(payload.get("event_id") or ""),
    )


def changed_user(payload: dict[str, Any]) -> tuple[str, str] | None:
    """(team, user) of a `user_change` / `user_profile_changed` event: their cached profile is stale."""
    event = payload.get("event")
    if not isinstance(event, dict) or event.get("type") not in ("user_change", "user_profile_changed"):
        return None
    user = event.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return None
    team = user.get("team_id") or payload.get("team_id")
    return (team, user["id"]) if isinstance(team, str) else None


def thread_key(post: SlackPost) -> str:
    if post.channel_type == "im":
        return post.channel
    return f"{post.channel}:{post.thread_ts or post.ts}"


def split_thread_key(key: str) -> tuple[str, str | None]:
    """(channel, thread_ts) of a conversation's thread key; a DM has no thread_ts."""
    channel, _, thread_ts = key.partition(":")
    return channel, thread_ts or None


def unescape(text: str) -> str:
    """Slack escapes exactly these three characters in message text."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_inbound(post: SlackPost, inbox_id: int, profile: Profile | None, max_file_bytes: int) -> InboundMessage:
    attachments = []
    too_large = []
    for f in post.files:
        size = f.get("size") if isinstance(f.get("size"), int) else None
        name = str(f.get("name") or f.get("title") or "file")
        if size is not None and size > max_file_bytes:
            too_large.append(name)
            continue
        url = f.get("url_private_download") or f.get("url_private")
        attachments.append(
            InboundAttachment(
                filename=name,
                content_type=str(f.get("mimetype") or "application/octet-stream"),
                url=str(url) if url else None,
                size=size,
            )
        )
    try:
        sent_at: datetime | None = datetime.fromtimestamp(float(post.ts), UTC)
    except (ValueError, OverflowError, OSError):
        sent_at = None
    also = [Identity("email", profile.email, verified=True)] if profile and profile.email else []
    meta: dict[str, Any] = {
        "slack": {
            "team": post.team,
            "user": post.user,
            "channel": post.channel,
            "channel_type": post.channel_type,
            "ts": post.ts,
            **({"thread_ts": post.thread_ts} if post.thread_ts else {}),
            **({"event_id": post.event_id} if post.event_id else {}),
            **({"files_too_large": too_large} if too_large else {}),
        }
    }
    return InboundMessage(
        inbox_id=inbox_id,
        provider_id=f"{post.channel}:{post.ts}",
        sender=Identity("slack", f"{post.team}:{post.user}", verified=True),
        sender_name=profile.name if profile else None,
        also_known_as=also,
        text=unescape(post.text),
        thread_key=thread_key(post),
        attachments=attachments,
        sent_at=sent_at,
        meta=meta,
    )
