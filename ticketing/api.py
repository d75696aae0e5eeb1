"""REST endpoints of ticketing under /api/v1: thin controllers over the service modules."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, Parameter
from sqlalchemy import select

from hub import events
from hub.api.params import MAX_ID, id_param
from hub.auth.guards import requires_admin, requires_agent, requires_manager
from hub.auth.principal import Principal
from hub.db import session_scope
from hub.events import DomainEvent
from hub.models import Conversation, Team, User
from ticketing import assignment, canned, live, reports, routing, service, sla
from ticketing.actions import run_actions, validate_actions
from ticketing.business_hours import parse_schedule
from ticketing.inputs import NO_NUL, Id, LongText, Name, Position, Seconds, Shortcut, Title, Word, ZoneName
from ticketing.models import (
    AutomationRule,
    BusinessHours,
    CannedResponse,
    Macro,
    RoutingRule,
    SlaPolicy,
    WebhookDelivery,
)
from ticketing.rules import validate_conditions
from ticketing.service import Actor, ChangeRejected

AnyRequest = Request[Principal, Any, Any]
ConversationId = Annotated[int, id_param("conversation")]
RuleId = Annotated[int, id_param("rule")]
HoursId = Annotated[int, id_param("business hours")]
PolicyId = Annotated[int, id_param("SLA policy")]
CannedId = Annotated[int, id_param("canned response")]
MacroId = Annotated[int, id_param("macro")]
TeamId = Annotated[int, id_param("team")]
UserId = Annotated[int, id_param("user")]
IdList = list[Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]] | None


def actor_of(request: AnyRequest) -> Actor:
    return Actor("agent", request.user.id)


async def visible_conversation(request: AnyRequest, conversation_id: int) -> Conversation:
    async with session_scope() as session:
        conv = await session.get(Conversation, conversation_id)
    if conv is None or not request.user.can_see_inbox(conv.inbox_id):
        raise NotFoundException(f"No conversation {conversation_id} that you can see.")
    return conv


def _patch(row: Any, data: msgspec.Struct, fields: tuple[str, ...]) -> None:
    for name in fields:
        value = getattr(data, name, msgspec.UNSET)
        if value is not msgspec.UNSET:
            setattr(row, name, value)


# --- conversations: merge, snooze, SLA -------------------------------------------------------------------


class MergeIn(msgspec.Struct, forbid_unknown_fields=True):
    other_id: Id


class SnoozeIn(msgspec.Struct, forbid_unknown_fields=True):
    until: datetime


class PolicyIn(msgspec.Struct, forbid_unknown_fields=True):
    policy_id: Id


class ConversationWorkflowController(Controller):
    path = "/api/v1/conversations"
    tags = ["conversations"]
    guards = [requires_agent]

    @post("/{conversation_id:int}/merge", status_code=200)
    async def merge(
        self,
        request: AnyRequest,
        conversation_id: ConversationId,
        data: Annotated[MergeIn, Body(title="Conversation to merge")],
    ) -> dict[str, Any]:
        """Move the other conversation's messages and timeline here and close it (same contact only)."""
        await visible_conversation(request, conversation_id)
        await visible_conversation(request, data.other_id)
        return await service.merge(conversation_id, data.other_id, actor_of(request))

    @post("/{conversation_id:int}/snooze", status_code=200)
    async def snooze(
        self,
        request: AnyRequest,
        conversation_id: ConversationId,
        data: Annotated[SnoozeIn, Body(title="Wake-up time")],
    ) -> dict[str, Any]:
        """Snooze until a moment (UTC ISO 8601); a scheduled job reopens it then."""
        await visible_conversation(request, conversation_id)
        until = data.until if data.until.tzinfo else data.until.replace(tzinfo=UTC)
        await service.update(conversation_id, actor_of(request), source="api", status="snoozed", snoozed_until=until)
        return {"conversation_id": conversation_id, "status": "snoozed", "snoozed_until": until.isoformat()}

    @get("/{conversation_id:int}/sla")
    async def sla_clocks(self, request: AnyRequest, conversation_id: ConversationId) -> list[dict[str, Any]]:
        """The conversation's SLA targets: running, met, breached or cancelled."""
        await visible_conversation(request, conversation_id)
        async with session_scope() as session:
            return await sla.clocks_of(session, conversation_id)

    @put("/{conversation_id:int}/sla", guards=[requires_manager], status_code=200)
    async def set_sla(
        self, request: AnyRequest, conversation_id: ConversationId, data: Annotated[PolicyIn, Body(title="SLA policy")]
    ) -> list[dict[str, Any]]:
        await visible_conversation(request, conversation_id)
        async with session_scope() as session:
            if await session.get(SlaPolicy, data.policy_id) is None:
                raise ChangeRejected(f"No SLA policy {data.policy_id}.")
        await sla.set_policy(conversation_id, data.policy_id)
        async with session_scope() as session:
            return await sla.clocks_of(session, conversation_id)


# --- routing rules -----------------------------------------------------------------------------------------


class RuleIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    conditions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    actions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    match: Word = "all"
    position: Position = 0
    enabled: bool = True
    stop: bool = True


class RulePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    conditions: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    actions: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET
    match: Word | msgspec.UnsetType = msgspec.UNSET
    position: Position | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    stop: bool | msgspec.UnsetType = msgspec.UNSET


def _check_match(match: Any) -> None:
    if match is not msgspec.UNSET and match not in ("all", "any"):
        raise ChangeRejected("`match` must be 'all' or 'any'.")


def routing_out(r: RoutingRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "position": r.position,
        "enabled": r.enabled,
        "match": r.match,
        "conditions": r.conditions,
        "actions": r.actions,
        "stop": r.stop,
    }


class RoutingRuleController(Controller):
    path = "/api/v1/routing-rules"
    tags = ["routing rules"]
    guards = [requires_manager]

    @get("/")
    async def list_rules(self) -> list[dict[str, Any]]:
        """Rules in evaluation order."""
        async with session_scope() as session:
            rows = (await session.execute(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))).scalars()
            return [routing_out(r) for r in rows]

    @post("/", status_code=201)
    async def create_rule(self, data: Annotated[RuleIn, Body(title="Routing rule")]) -> dict[str, Any]:
        _check_match(data.match)
        conditions = validate_conditions(data.conditions)
        actions = validate_actions(data.actions)
        if not actions:
            raise ChangeRejected("A routing rule needs at least one action.")
        async with session_scope() as session:
            row = RoutingRule(
                name=data.name.strip()[:120] or "Rule",
                position=data.position,
                enabled=data.enabled,
                match=data.match,
                conditions=conditions,
                actions=actions,
                stop=data.stop,
            )
            session.add(row)
            await session.flush()
            return routing_out(row)

    @get("/{rule_id:int}")
    async def get_rule(self, rule_id: RuleId) -> dict[str, Any]:
        async with session_scope() as session:
            row = await session.get(RoutingRule, rule_id)
            if row is None:
                raise NotFoundException(f"No routing rule {rule_id}.")
            return routing_out(row)

    @patch("/{rule_id:int}")
    async def update_rule(self, rule_id: RuleId, data: Annotated[RulePatch, Body(title="Changes")]) -> dict[str, Any]:
        _check_match(data.match)
        async with session_scope() as session:
            row = await session.get(RoutingRule, rule_id)
            if row is None:
                raise NotFoundException(f"No routing rule {rule_id}.")
            if data.conditions is not msgspec.UNSET:
                row.conditions = validate_conditions(data.conditions)
            if data.actions is not msgspec.UNSET:
                row.actions = validate_actions(data.actions)
            _patch(row, data, ("name", "match", "position", "enabled", "stop"))
            await session.flush()
            return routing_out(row)

    @delete("/{rule_id:int}", status_code=204)
    async def delete_rule(self, rule_id: RuleId) -> None:
        async with session_scope() as session:
            row = await session.get(RoutingRule, rule_id)
            if row is None:
                raise NotFoundException(f"No routing rule {rule_id}.")
            await session.delete(row)

    @post("/apply/{conversation_id:int}", status_code=200, guards=[requires_agent])
    async def apply_rules(self, request: AnyRequest, conversation_id: ConversationId) -> dict[str, Any]:
        """Evaluate the rules on an existing conversation now (its latest customer message)."""
        await visible_conversation(request, conversation_id)
        fired = await routing.evaluate(conversation_id)
        return {"conversation_id": conversation_id, "fired": fired}


# --- business hours and SLA policies -------------------------------------------------------------------------


class HoursIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    time_zone: ZoneName = "UTC"
    weekly: dict[Word, list[list[Word]]] = msgspec.field(default_factory=dict)
    holidays: list[Word] = msgspec.field(default_factory=list)
    is_default: bool = False


def hours_out(h: BusinessHours) -> dict[str, Any]:
    return {
        "id": h.id,
        "name": h.name,
        "time_zone": h.time_zone,
        "weekly": h.weekly,
        "holidays": h.holidays,
        "is_default": h.is_default,
    }


class BusinessHoursController(Controller):
    path = "/api/v1/business-hours"
    tags = ["SLA"]
    guards = [requires_manager]

    @get("/", guards=[requires_agent])
    async def list_hours(self) -> list[dict[str, Any]]:
        async with session_scope() as session:
            return [
                hours_out(h)
                for h in (await session.execute(select(BusinessHours).order_by(BusinessHours.id))).scalars()
            ]

    @post("/", status_code=201)
    async def create_hours(self, data: Annotated[HoursIn, Body(title="Business hours")]) -> dict[str, Any]:
        """`weekly`: {"0": [["09:00", "18:00"]], ...} with 0 = Monday, local time in `time_zone`."""
        parse_schedule(data.time_zone, dict(data.weekly), data.holidays)
        async with session_scope() as session:
            row = BusinessHours(
                name=data.name.strip()[:120] or "Business hours",
                time_zone=data.time_zone,
                weekly=dict(data.weekly),
                holidays=list(data.holidays),
                is_default=data.is_default,
            )
            session.add(row)
            await session.flush()
            return hours_out(row)

    @put("/{hours_id:int}")
    async def replace_hours(
        self, hours_id: HoursId, data: Annotated[HoursIn, Body(title="Business hours")]
    ) -> dict[str, Any]:
        parse_schedule(data.time_zone, dict(data.weekly), data.holidays)
        async with session_scope() as session:
            row = await session.get(BusinessHours, hours_id)
            if row is None:
                raise NotFoundException(f"No business hours {hours_id}.")
            row.name, row.time_zone, row.weekly = data.name, data.time_zone, dict(data.weekly)
            row.holidays, row.is_default = list(data.holidays), data.is_default
            await session.flush()
            return hours_out(row)

    @delete("/{hours_id:int}", status_code=204)
    async def delete_hours(self, hours_id: HoursId) -> None:
        async with session_scope() as session:
            row = await session.get(BusinessHours, hours_id)
            if row is None:
                raise NotFoundException(f"No business hours {hours_id}.")
            await session.delete(row)


class PolicyBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    first_response_seconds: Seconds | None = None
    next_response_seconds: Seconds | None = None
    resolution_seconds: Seconds | None = None
    business_hours_id: Id | None = None
    warn_ratio: float = 0.8
    inbox_id: Id | None = None
    is_default: bool = False
    active: bool = True


def policy_out(p: SlaPolicy) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "first_response_seconds": p.first_response_seconds,
        "next_response_seconds": p.next_response_seconds,
        "resolution_seconds": p.resolution_seconds,
        "business_hours_id": p.business_hours_id,
        "warn_ratio": p.warn_ratio,
        "inbox_id": p.inbox_id,
        "is_default": p.is_default,
        "active": p.active,
    }


async def _check_policy(data: PolicyBody) -> None:
    for name in ("first_response_seconds", "next_response_seconds", "resolution_seconds"):
        value = getattr(data, name)
        if value is not None and value <= 0:
            raise ChangeRejected(f"`{name}` must be a positive number of seconds (or null for no target).")
    if not 0 <= data.warn_ratio < 1:
        raise ChangeRejected("`warn_ratio` must be between 0 (no warning) and 1, e.g. 0.8 for 80 %.")
    if data.business_hours_id is not None:
        async with session_scope() as session:
            if await session.get(BusinessHours, data.business_hours_id) is None:
                raise ChangeRejected(f"No business hours {data.business_hours_id}.")


class SlaPolicyController(Controller):
    path = "/api/v1/sla-policies"
    tags = ["SLA"]
    guards = [requires_manager]

    @get("/", guards=[requires_agent])
    async def list_policies(self) -> list[dict[str, Any]]:
        async with session_scope() as session:
            return [policy_out(p) for p in (await session.execute(select(SlaPolicy).order_by(SlaPolicy.id))).scalars()]

    @post("/", status_code=201)
    async def create_policy(self, data: Annotated[PolicyBody, Body(title="SLA policy")]) -> dict[str, Any]:
        await _check_policy(data)
        async with session_scope() as session:
            row = SlaPolicy(**msgspec.structs.asdict(data))
            session.add(row)
            await session.flush()
            return policy_out(row)

    @put("/{policy_id:int}")
    async def replace_policy(
        self, policy_id: PolicyId, data: Annotated[PolicyBody, Body(title="SLA policy")]
    ) -> dict[str, Any]:
        await _check_policy(data)
        async with session_scope() as session:
            row = await session.get(SlaPolicy, policy_id)
            if row is None:
                raise NotFoundException(f"No SLA policy {policy_id}.")
            for key, value in msgspec.structs.asdict(data).items():
                setattr(row, key, value)
            await session.flush()
            return policy_out(row)

    @delete("/{policy_id:int}", status_code=204)
    async def delete_policy(self, policy_id: PolicyId) -> None:
        async with session_scope() as session:
            row = await session.get(SlaPolicy, policy_id)
            if row is None:
                raise NotFoundException(f"No SLA policy {policy_id}.")
            await session.delete(row)


# --- canned responses and macros -------------------------------------------------------------------------


class CannedIn(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Shortcut
    body: LongText
    title: Title = ""


class CannedPatch(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Shortcut | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    body: LongText | msgspec.UnsetType = msgspec.UNSET


class CannedController(Controller):
    path = "/api/v1/canned-responses"
    tags = ["canned responses"]
    guards = [requires_agent]

    @get("/")
    async def search_canned(
        self,
        request: AnyRequest,
        q: Annotated[
            str, Parameter(max_length=200, pattern=NO_NUL, description="Matches shortcut, title or body")
        ] = "",
        conversation_id: Annotated[
            int | None, Parameter(ge=1, le=MAX_ID, description="Fill in the variables for this conversation")
        ] = None,
    ) -> list[dict[str, Any]]:
        """For the reply box: matching responses, with `rendered` text when a conversation is given."""
        if conversation_id is not None:
            await visible_conversation(request, conversation_id)
        async with session_scope() as session:
            rows = await canned.search(session, q)
            out = []
            for row in rows:
                item = canned.describe(row)
                if conversation_id is not None:
                    item["rendered"] = await canned.render_for(session, row.body, conversation_id, request.user.id)
                out.append(item)
            return out

    @post("/", status_code=201, guards=[requires_manager])
    async def create_canned(self, data: Annotated[CannedIn, Body(title="Canned response")]) -> dict[str, Any]:
        shortcut = data.shortcut.strip().lstrip("/").lower()[:64]
        if not shortcut or not data.body.strip():
            raise ChangeRejected("A canned response needs a shortcut and a body.")
        unknown = canned.unknown_variables(data.body)
        if unknown:
            raise ChangeRejected(f"Unknown variables {', '.join(unknown)}; available: {', '.join(canned.VARIABLES)}.")
        async with session_scope() as session:
            if (await session.execute(select(CannedResponse.id).where(CannedResponse.shortcut == shortcut))).first():
                raise ChangeRejected(f"The shortcut {shortcut!r} is taken; choose another.")
            row = CannedResponse(shortcut=shortcut, title=data.title[:200], body=data.body)
            session.add(row)
            await session.flush()
            return canned.describe(row)

    @patch("/{canned_id:int}", guards=[requires_manager])
    async def update_canned(
        self, canned_id: CannedId, data: Annotated[CannedPatch, Body(title="Changes")]
    ) -> dict[str, Any]:
        if data.body is not msgspec.UNSET:
            unknown = canned.unknown_variables(data.body)
            if unknown or not data.body.strip():
                raise ChangeRejected(f"The body must not be empty and may use only: {', '.join(canned.VARIABLES)}.")
        async with session_scope() as session:
            row = await session.get(CannedResponse, canned_id)
            if row is None:
                raise NotFoundException(f"No canned response {canned_id}.")
            if data.shortcut is not msgspec.UNSET:
                shortcut = data.shortcut.strip().lstrip("/").lower()[:64]
                taken = await session.execute(
                    select(CannedResponse.id).where(CannedResponse.shortcut == shortcut, CannedResponse.id != canned_id)
                )
                if not shortcut or taken.first():
                    raise ChangeRejected(f"The shortcut {shortcut!r} is empty or taken; choose another.")
                row.shortcut = shortcut
            _patch(row, data, ("title", "body"))
            await session.flush()
            return canned.describe(row)

    @delete("/{canned_id:int}", status_code=204, guards=[requires_manager])
    async def delete_canned(self, canned_id: CannedId) -> None:
        async with session_scope() as session:
            row = await session.get(CannedResponse, canned_id)
            if row is None:
                raise NotFoundException(f"No canned response {canned_id}.")
            await session.delete(row)


class MacroIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    actions: list[dict[str, Any]]


def macro_out(m: Macro) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "actions": m.actions}


class MacroController(Controller):
    path = "/api/v1/macros"
    tags = ["macros"]
    guards = [requires_agent]

    @get("/")
    async def list_macros(self) -> list[dict[str, Any]]:
        async with session_scope() as session:
            return [macro_out(m) for m in (await session.execute(select(Macro).order_by(Macro.name))).scalars()]

    @post("/", status_code=201, guards=[requires_manager])
    async def create_macro(self, data: Annotated[MacroIn, Body(title="Macro")]) -> dict[str, Any]:
        actions = validate_actions(data.actions)
        if not actions:
            raise ChangeRejected("A macro needs at least one action.")
        async with session_scope() as session:
            row = Macro(name=data.name.strip()[:120] or "Macro", actions=actions)
            session.add(row)
            await session.flush()
            return macro_out(row)

    @put("/{macro_id:int}", guards=[requires_manager])
    async def replace_macro(self, macro_id: MacroId, data: Annotated[MacroIn, Body(title="Macro")]) -> dict[str, Any]:
        actions = validate_actions(data.actions)
        if not actions:
            raise ChangeRejected("A macro needs at least one action.")
        async with session_scope() as session:
            row = await session.get(Macro, macro_id)
            if row is None:
                raise NotFoundException(f"No macro {macro_id}.")
            row.name, row.actions = data.name.strip()[:120] or row.name, actions
            await session.flush()
            return macro_out(row)

    @delete("/{macro_id:int}", status_code=204, guards=[requires_manager])
    async def delete_macro(self, macro_id: MacroId) -> None:
        async with session_scope() as session:
            row = await session.get(Macro, macro_id)
            if row is None:
                raise NotFoundException(f"No macro {macro_id}.")
            await session.delete(row)

    @post("/{macro_id:int}/run/{conversation_id:int}", status_code=200)
    async def run_macro(
        self, request: AnyRequest, macro_id: MacroId, conversation_id: ConversationId
    ) -> dict[str, Any]:
        """Run every action of the macro on the conversation, in one transaction."""
        await visible_conversation(request, conversation_id)
        async with session_scope() as session:
            macro = await session.get(Macro, macro_id)
            if macro is None:
                raise NotFoundException(f"No macro {macro_id}.")
            actions = list(macro.actions)
        result = await run_actions(conversation_id, actions, actor_of(request), source="macro")
        return {"conversation_id": conversation_id, "changed": result.changed, "messages": result.messages}


# --- automation rules ------------------------------------------------------------------------------------------


class AutomationIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    event: Word
    actions: list[dict[str, Any]]
    conditions: list[dict[str, Any]] = msgspec.field(default_factory=list)
    match: Word = "all"
    enabled: bool = True


class AutomationPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    match: Word | msgspec.UnsetType = msgspec.UNSET
    conditions: list[dict[str, Any]] | msgspec.UnsetType = msgspec.UNSET


def automation_out(r: AutomationRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "event": r.event,
        "enabled": r.enabled,
        "match": r.match,
        "conditions": r.conditions,
        "actions": r.actions,  # webhook secrets are kept apart, encrypted, and never shown again
    }


class AutomationController(Controller):
    path = "/api/v1/automation-rules"
    tags = ["automation"]
    guards = [requires_manager]

    @get("/")
    async def list_automation(self) -> list[dict[str, Any]]:
        async with session_scope() as session:
            rows = (await session.execute(select(AutomationRule).order_by(AutomationRule.id))).scalars()
            return [automation_out(r) for r in rows]

    @post("/", status_code=201, guards=[requires_admin])
    async def create_automation(self, data: Annotated[AutomationIn, Body(title="Automation rule")]) -> dict[str, Any]:
        from ticketing.automation import EVENTS

        if data.event not in EVENTS:
            raise ChangeRejected(f"Unknown event {data.event!r}; use one of {', '.join(EVENTS)}.")
        _check_match(data.match)
        conditions = validate_conditions(data.conditions)
        actions = validate_actions(data.actions, allow_webhook=True)
        if not actions:
            raise ChangeRejected("An automation rule needs at least one action.")
        secrets: dict[str, Any] = {}
        for index, action in enumerate(actions):
            if "secret" in action:
                secrets[str(index)] = action.pop("secret")
        async with session_scope() as session:
            row = AutomationRule(
                name=data.name.strip()[:120] or "Rule",
                event=data.event,
                enabled=data.enabled,
                match=data.match,
                conditions=conditions,
                actions=actions,
                secrets=secrets,
            )
            session.add(row)
            await session.flush()
            return automation_out(row)

    @patch("/{rule_id:int}", guards=[requires_admin])
    async def update_automation(
        self, rule_id: RuleId, data: Annotated[AutomationPatch, Body(title="Changes")]
    ) -> dict[str, Any]:
        """Rename, switch on/off or change the conditions; to change actions, create a new rule."""
        _check_match(data.match)
        async with session_scope() as session:
            row = await session.get(AutomationRule, rule_id)
            if row is None:
                raise NotFoundException(f"No automation rule {rule_id}.")
            if data.conditions is not msgspec.UNSET:
                row.conditions = validate_conditions(data.conditions)
            _patch(row, data, ("name", "enabled", "match"))
            await session.flush()
            return automation_out(row)

    @delete("/{rule_id:int}", status_code=204, guards=[requires_admin])
    async def delete_automation(self, rule_id: RuleId) -> None:
        async with session_scope() as session:
            row = await session.get(AutomationRule, rule_id)
            if row is None:
                raise NotFoundException(f"No automation rule {rule_id}.")
            await session.delete(row)

    @get("/{rule_id:int}/deliveries")
    async def deliveries(self, rule_id: RuleId) -> list[dict[str, Any]]:
        """The rule's recent webhook deliveries and their outcome."""
        async with session_scope() as session:
            rows = (
                await session.execute(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.rule_id == rule_id)
                    .order_by(WebhookDelivery.id.desc())
                    .limit(100)
                )
            ).scalars()
            return [
                {
                    "id": d.id,
                    "url": d.url,
                    "state": d.state,
                    "attempts": d.attempts,
                    "last_status": d.last_status,
                    "last_error": d.last_error,
                    "created_at": d.created_at,
                    "delivered_at": d.delivered_at,
                }
                for d in rows
            ]


# --- assignment and presence ------------------------------------------------------------------------------------


class ModeIn(msgspec.Struct, forbid_unknown_fields=True):
    mode: Word


class AvailabilityIn(msgspec.Struct, forbid_unknown_fields=True):
    availability: Word


class AssignmentController(Controller):
    path = "/api/v1"
    tags = ["assignment"]
    guards = [requires_agent]

    @get("/teams/{team_id:int}/assignment")
    async def get_mode(self, team_id: TeamId) -> dict[str, Any]:
        async with session_scope() as session:
            row = await assignment.settings_of(session, team_id)
            return {"team_id": team_id, "mode": row.mode if row else "none"}

    @put("/teams/{team_id:int}/assignment", guards=[requires_manager])
    async def put_mode(self, team_id: TeamId, data: Annotated[ModeIn, Body(title="Assignment mode")]) -> dict[str, Any]:
        """`none`, `round_robin` or `least_loaded`. Turning it on hands out the team's queue at once."""
        async with session_scope() as session:
            if await session.get(Team, team_id) is None:
                raise NotFoundException(f"No team {team_id}.")
        row = await assignment.set_mode(team_id, data.mode)
        return {"team_id": team_id, "mode": row.mode}

    @put("/agents/{user_id:int}/availability")
    async def set_availability(
        self, request: AnyRequest, user_id: UserId, data: Annotated[AvailabilityIn, Body(title="Presence")]
    ) -> dict[str, Any]:
        """online, away or offline. Agents set their own; managers anyone's. Online agents get queued work."""
        if data.availability not in ("online", "away", "offline"):
            raise ChangeRejected("`availability` must be online, away or offline.")
        if user_id != request.user.id and not request.user.at_least("manager"):
            raise PermissionDeniedException("Agents can only change their own availability.")
        async with session_scope() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotFoundException(f"No user {user_id}.")
            user.availability = data.availability
        await events.emit(
            DomainEvent(
                name="presence",
                data={"user_id": user_id, "availability": data.availability},
                user_id=user_id,
            )
        )
        return {"user_id": user_id, "availability": data.availability}


# --- reports ------------------------------------------------------------------------------------------------------


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]
    guards = [requires_manager]

    @get("/summary")
    async def summary(
        self,
        start: Annotated[
            date | None, Parameter(query="from", description="First day (UTC), default 30 days ago")
        ] = None,
        end: Annotated[
            date | None, Parameter(query="to", description="Last day (UTC, inclusive), default today")
        ] = None,
        group_by: Annotated[
            str, Parameter(max_length=16, description="none, agent, team, inbox, channel, tag, day or week")
        ] = "none",
        inbox_id: Annotated[IdList, Parameter(description="Only these inboxes")] = None,
        team_id: Annotated[IdList, Parameter(description="Only these teams")] = None,
        channel: Annotated[list[Word] | None, Parameter(description="Only these channels")] = None,
        format: Annotated[str, Parameter(max_length=8, description="json or csv")] = "json",
    ) -> Response[Any]:
        """Volume, first/next response and resolution times (median, p90, avg; wall clock and business
        hours), SLA compliance and CSAT. Definitions: docs/metrics.md."""
        query = reports.ReportQuery.build(start, end, group_by, inbox_id or (), team_id or (), channel or ())
        async with session_scope() as session:
            report = await reports.run(session, query)
        if format == "csv":
            name = f"report-{query.group_by}-{report['from']}-{report['to']}.csv"
            return Response(
                reports.to_csv(report),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        if format != "json":
            raise ChangeRejected("`format` must be json or csv.")
        return Response(report)

    @get("/live")
    async def live_panel(
        self, inbox_id: Annotated[IdList, Parameter(description="Only these inboxes")] = None
    ) -> dict[str, Any]:
        """Open, unassigned and breaching conversations right now."""
        async with session_scope() as session:
            return await live.snapshot(session, inbox_id)
