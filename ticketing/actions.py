"""Actions shared by routing rules, macros and automation rules, run together in one transaction.

An action is `{"type": ..., ...}`. Field changes (status, priority, team, agent, tags) are applied at once
through `ticketing.service.apply`; replies and notes are queued with `hub.dispatch.queue_outbound`; SLA
policies, auto-assignment and webhooks happen after commit, so nothing runs on state that could roll back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Literal

import msgspec

from hub import dispatch
from hub.db import session_scope, utcnow
from hub.models import Contact, Inbox, User
from ticketing import service
from ticketing.inputs import NO_NUL, Id, LongText, Minutes, Word, find_nul
from ticketing.service import Actor, ChangeRejected, Outbox

ActionType = Literal[
    "assign_team",
    "assign_agent",
    "unassign",
    "auto_assign",
    "set_priority",
    "add_tag",
    "remove_tag",
    "set_status",
    "set_sla_policy",
    "send_reply",
    "add_note",
    "webhook",
]


class Action(msgspec.Struct, forbid_unknown_fields=True):
    type: ActionType
    team_id: Id | None = None
    user_id: Id | None = None
    priority: Word | None = None
    tag: Word | None = None
    status: Word | None = None
    snooze_minutes: Minutes | None = None
    policy_id: Id | None = None
    text: LongText | None = None
    canned_id: Id | None = None
    url: Annotated[str, msgspec.Meta(max_length=2000, pattern=NO_NUL)] | None = None
    secret: Annotated[str, msgspec.Meta(max_length=500)] | None = None


class ActionError(ValueError):
    pass


def validate_actions(raw: list[dict[str, Any]], *, allow_webhook: bool = False) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    needs = {
        "assign_team": "team_id",
        "assign_agent": "user_id",
        "set_priority": "priority",
        "add_tag": "tag",
        "remove_tag": "tag",
        "set_status": "status",
        "set_sla_policy": "policy_id",
        "webhook": "url",
    }
    for i, item in enumerate(raw):
        if find_nul(item):
            raise ActionError(f"action {i + 1}: remove the NUL character (\\u0000); text cannot hold it")
        try:
            action = msgspec.convert(item, Action)
        except msgspec.ValidationError as exc:
            raise ActionError(f"action {i + 1}: {exc}") from exc
        want = needs.get(action.type)
        if want and getattr(action, want) in (None, ""):
            raise ActionError(f"action {i + 1}: {action.type} needs `{want}`")
        if action.type in ("send_reply", "add_note") and not (action.text or action.canned_id):
            raise ActionError(f"action {i + 1}: {action.type} needs `text` or `canned_id`")
        if action.type == "set_status" and action.status == "snoozed" and not action.snooze_minutes:
            raise ActionError(f"action {i + 1}: snoozing needs `snooze_minutes`")
        if action.type == "webhook":
            if not allow_webhook:
                raise ActionError(f"action {i + 1}: webhooks are only available in automation rules")
            if not str(action.url).startswith(("http://", "https://")):
                raise ActionError(f"action {i + 1}: the webhook URL must start with http:// or https://")
        out.append({k: v for k, v in msgspec.to_builtins(action).items() if v is not None})
    return out


@dataclass
class RunResult:
    conversation_id: int
    changed: list[str]
    messages: list[int]
    webhooks: list[int]


async def run_actions(
    conversation_id: int,
    actions: list[dict[str, Any]],
    actor: Actor,
    *,
    source: str,
    rule_id: int | None = None,
    secrets: dict[str, Any] | None = None,
    trigger: dict[str, Any] | None = None,
) -> RunResult:
    """Run `actions` on one conversation. Field changes and messages commit together or not at all."""
    from ticketing import assignment, canned, sla, webhooks

    outbox = Outbox()
    messages: list[int] = []
    hooks: list[int] = []
    changes: dict[str, Any] = {}
    add_tags: list[str] = []
    remove_tags: list[str] = []
    for action in actions:
        kind = action["type"]
        if kind == "assign_team":
            changes["team_id"] = action["team_id"]
        elif kind == "assign_agent":
            changes["assignee_id"] = action["user_id"]
        elif kind == "unassign":
            changes["assignee_id"] = None
        elif kind == "set_priority":
            changes["priority"] = action["priority"]
        elif kind == "add_tag":
            add_tags.append(action["tag"])
        elif kind == "remove_tag":
            remove_tags.append(action["tag"])
        elif kind == "set_status":
            changes["status"] = action["status"]
            if action["status"] == "snoozed":
                changes["snoozed_until"] = utcnow() + timedelta(minutes=int(action["snooze_minutes"]))
    async with session_scope() as session:
        conv = await service.load(session, conversation_id)
        changed = await service.apply(session, conv, actor, add_tags=add_tags, remove_tags=remove_tags, **changes)
        agent = await session.get(User, actor.id) if actor.kind == "agent" and actor.id else None
        for action in actions:
            if action["type"] not in ("send_reply", "add_note"):
                continue
            text = action.get("text") or ""
            if action.get("canned_id"):
                text = await canned.body_of(session, int(action["canned_id"]))
            contact = await session.get(Contact, conv.contact_id)
            inbox = await session.get(Inbox, conv.inbox_id)
            text = canned.render(text, canned.variables(conv, contact, agent, inbox))
            if not text.strip():
                raise ChangeRejected("The reply is empty after filling in its variables.")
            msg = await dispatch.queue_outbound(
                session,
                conv,
                text=text,
                author_kind="agent" if agent is not None else "system",
                author_id=agent.id if agent is not None else None,
                private=action["type"] == "add_note",
                meta={} if agent is not None else {"automated": True, "source": source},
            )
            messages.append(msg.id)
            outbox.after.append(_after_message(msg, conv))
        if changed:
            outbox.events.append(await service.updated_event(session, conv, changed, actor, source))
        conv_payload = await service.payload(session, conv)
        for index, action in enumerate(actions):
            if action["type"] == "webhook":
                secret = str((secrets or {}).get(str(index)) or action.get("secret") or "")
                delivery = await webhooks.store(
                    session, rule_id, action["url"], secret, {**(trigger or {}), "conversation": conv_payload}
                )
                hooks.append(delivery.id)
                outbox.after.append(webhooks.after_commit(delivery.id))
    for action in actions:
        if action["type"] == "set_sla_policy":
            outbox.after.append(_set_policy(sla, conversation_id, int(action["policy_id"])))
    for action in actions:
        if action["type"] == "auto_assign":
            outbox.after.append(_auto_assign(assignment, conversation_id))
    await outbox.flush()
    return RunResult(conversation_id, changed, messages, hooks)


def _after_message(msg: Any, conv: Any) -> service.AfterCommit:
    async def call() -> None:
        await dispatch.after_commit(msg, conv)

    return call


def _set_policy(sla: Any, conversation_id: int, policy_id: int) -> service.AfterCommit:
    async def call() -> None:
        await sla.set_policy(conversation_id, policy_id)

    return call


def _auto_assign(assignment: Any, conversation_id: int) -> service.AfterCommit:
    async def call() -> None:
        await assignment.assign_conversation(conversation_id)

    return call
