"""Conditions shared by routing rules, automation rules and (for validation) macros.

A condition is `{"field": ..., "op": ..., "value": ...}` (plus `tz` for time conditions). They are
validated once when a rule is saved — unknown fields, bad regexes and unknown time zones are rejected with a
readable reason — and evaluated against a `RuleContext` built from the conversation, its contact and the
message or event that triggered the rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from hub.models import Contact, Conversation
from ticketing.inputs import find_nul

Op = Literal[
    "eq",
    "neq",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "regex",
    "exists",
    "not_exists",
    "gt",
    "lt",
    "between",
]

FIELDS = {
    "channel",
    "inbox_id",
    "team_id",
    "assignee_id",
    "status",
    "priority",
    "subject",
    "text",
    "tags",
    "message.direction",
    "message.author_kind",
    "changed",
    "sla.kind",
    "time",
    "weekday",
}
CONTACT_FIELDS = {"name", "email", "phone", "company"}
MAX_REGEX = 500


class Condition(msgspec.Struct, forbid_unknown_fields=True):
    field: str
    op: Op
    value: Any = None
    tz: str = "UTC"


class RuleError(ValueError):
    """A rule cannot be saved as given; the message says which part is wrong."""


def validate_conditions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        if find_nul(item):
            raise RuleError(f"condition {i + 1}: remove the NUL character (\\u0000); text cannot hold it")
        try:
            cond = msgspec.convert(item, Condition)
        except msgspec.ValidationError as exc:
            raise RuleError(f"condition {i + 1}: {exc}") from exc
        if cond.field not in FIELDS and not cond.field.startswith("contact."):
            raise RuleError(
                f"condition {i + 1}: unknown field {cond.field!r}; use one of {', '.join(sorted(FIELDS))} "
                "or contact.<name|email|phone|company|attribute>"
            )
        if cond.op == "regex":
            if not isinstance(cond.value, str) or len(cond.value) > MAX_REGEX:
                raise RuleError(f"condition {i + 1}: a regex must be a string of at most {MAX_REGEX} characters")
            try:
                re.compile(cond.value)
            except re.error as exc:
                raise RuleError(f"condition {i + 1}: invalid regex: {exc}") from exc
        if cond.op in ("in", "not_in") and not isinstance(cond.value, list):
            raise RuleError(f"condition {i + 1}: `{cond.op}` needs a list value")
        if cond.field in ("time", "weekday"):
            try:
                ZoneInfo(cond.tz)
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
                raise RuleError(f"condition {i + 1}: unknown time zone {cond.tz!r}") from exc
        if cond.field == "time":
            if cond.op != "between" or not isinstance(cond.value, list) or len(cond.value) != 2:
                raise RuleError(f"condition {i + 1}: time needs op 'between' and a value like ['09:00', '17:00']")
            try:
                [time.fromisoformat(str(v)) for v in cond.value]
            except ValueError as exc:
                raise RuleError(f"condition {i + 1}: {exc}") from exc
        if cond.field == "weekday" and cond.op not in ("in", "not_in", "eq", "neq"):
            raise RuleError(f"condition {i + 1}: weekday takes eq/neq/in/not_in with 0 (Monday) to 6 (Sunday)")
        out.append(msgspec.to_builtins(cond))
    return out


@dataclass
class RuleContext:
    conversation: Conversation
    contact: Contact | None
    tags: list[str]
    event: str
    now: datetime
    message: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def lookup(self, name: str) -> Any:
        conv = self.conversation
        if name == "text":
            if self.message is not None:
                return self.message.get("text") or ""
            return conv.last_message_preview
        if name == "tags":
            return self.tags
        if name == "message.direction":
            return (self.message or {}).get("direction")
        if name == "message.author_kind":
            return (self.message or {}).get("author_kind")
        if name == "changed":
            return self.data.get("changed") or []
        if name == "sla.kind":
            return self.data.get("kind")
        if name.startswith("contact."):
            key = name[len("contact.") :]
            if self.contact is None:
                return None
            if key in CONTACT_FIELDS:
                return getattr(self.contact, key)
            return (self.contact.attributes or {}).get(key)
        return getattr(conv, name, None)


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _holds(cond: dict[str, Any], ctx: RuleContext) -> bool:
    name, op, expected = cond["field"], cond["op"], cond.get("value")
    if name in ("time", "weekday"):
        local = ctx.now.astimezone(ZoneInfo(cond.get("tz") or "UTC"))
        if name == "time":
            lo, hi = (time.fromisoformat(str(v)) for v in expected or [])
            t = local.time().replace(tzinfo=None)
            return lo <= t < hi if lo <= hi else (t >= lo or t < hi)  # an overnight window wraps midnight
        actual: Any = local.weekday()
    else:
        actual = ctx.lookup(name)
    if op == "exists":
        return actual not in (None, "", [])
    if op == "not_exists":
        return actual in (None, "", [])
    if isinstance(actual, list):  # tags, changed: a list matches when any element does
        if op in ("contains", "eq", "in"):
            wanted = expected if isinstance(expected, list) else [expected]
            return any(_norm(w) in [_norm(a) for a in actual] for w in wanted)
        if op in ("not_contains", "neq", "not_in"):
            wanted = expected if isinstance(expected, list) else [expected]
            return not any(_norm(w) in [_norm(a) for a in actual] for w in wanted)
        return False
    if op == "eq":
        return _norm(actual) == _norm(expected) or str(actual) == str(expected)
    if op == "neq":
        return not (_norm(actual) == _norm(expected) or str(actual) == str(expected))
    if op in ("in", "not_in"):
        values = {str(_norm(v)) for v in expected or []}
        found = str(_norm(actual)) in values
        return found if op == "in" else not found
    text = "" if actual is None else str(actual)
    if op == "contains":
        return str(expected).lower() in text.lower()
    if op == "not_contains":
        return str(expected).lower() not in text.lower()
    if op == "starts_with":
        return text.lower().startswith(str(expected).lower())
    if op == "regex":
        return re.search(str(expected), text, re.IGNORECASE) is not None
    if op in ("gt", "lt"):
        try:
            a, b = float(str(actual)), float(str(expected))
        except (TypeError, ValueError):
            return False
        return a > b if op == "gt" else a < b
    return False


def matches(conditions: list[dict[str, Any]], match: str, ctx: RuleContext) -> bool:
    if not conditions:
        return True
    results = (_holds(c, ctx) for c in conditions)
    return any(results) if match == "any" else all(results)
