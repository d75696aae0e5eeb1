"""Contacts as agents see them: search, the profile with identities, edits, the cross-channel timeline
(every message and event of every conversation the caller may see) and merging two contacts."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub import events
from hub.auth.principal import Principal
from hub.contacts import merge_contacts
from hub.db import session_scope, utcnow
from hub.events import DomainEvent
from hub.identities import InvalidAddress, normalise_email, normalise_phone
from hub.models import Contact, ContactIdentity, Conversation, Event
from hub.schemas import ContactOut, contact_out
from hub.services import cursors, timeline
from hub.services.access import contact_clause, inbox_clause, visible_contact
from hub.services.errors import Invalid


class ContactPage(msgspec.Struct):
    items: list[ContactOut]
    next_cursor: str | None


class ContactPatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Only the fields present change. `attributes` is merged key by key; a `null` value removes a key."""

    name: Annotated[str, msgspec.Meta(max_length=255)] | UnsetType = UNSET
    email: Annotated[str, msgspec.Meta(max_length=320)] | UnsetType | None = UNSET
    phone: Annotated[str, msgspec.Meta(max_length=32)] | UnsetType | None = UNSET
    company: Annotated[str, msgspec.Meta(max_length=255)] | UnsetType = UNSET
    attributes: dict[str, Any] | UnsetType = UNSET


class MergeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`other_id` is merged into the contact in the URL and remains as a pointer to it."""

    other_id: Annotated[int, msgspec.Meta(ge=1, le=2**62)]


def _identities(rows: list[ContactIdentity]) -> list[dict[str, Any]]:
    return [{"id": i.id, "kind": i.kind, "address": i.address, "verified": i.verified} for i in rows]


async def _load_identities(session: AsyncSession, contact_id: int) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            select(ContactIdentity).where(ContactIdentity.contact_id == contact_id).order_by(ContactIdentity.id)
        )
    ).scalars()
    return _identities(list(rows))


async def search_contacts(principal: Principal, q: str | None, *, cursor: str | None, limit: int) -> ContactPage:
    """Newest contacts first; `q` matches name, email, phone or company. Merged-away contacts are left out."""
    conds: list[ColumnElement[bool]] = [Contact.merged_into_id.is_(None), contact_clause(principal, Contact.id)]
    if q and q.strip():
        pattern = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conds.append(
            or_(
                Contact.name.ilike(pattern, escape="\\"),
                Contact.email.ilike(pattern, escape="\\"),
                Contact.phone.ilike(pattern, escape="\\"),
                Contact.company.ilike(pattern, escape="\\"),
            )
        )
    if cursor:
        (last_id,) = cursors.decode(cursor, tuple[cursors.Id])
        conds.append(Contact.id < last_id)
    async with session_scope() as session:
        query = select(Contact).where(*conds).order_by(Contact.id.desc()).limit(limit + 1)
        rows = list((await session.execute(query)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return ContactPage(
        items=[contact_out(c) for c in rows], next_cursor=cursors.encode(rows[-1].id) if more and rows else None
    )


async def get_contact(principal: Principal, contact_id: int) -> ContactOut:
    async with session_scope() as session:
        contact = await visible_contact(session, principal, contact_id)
        return contact_out(contact, await _load_identities(session, contact.id))


async def patch_contact(principal: Principal, contact_id: int, patch: ContactPatch) -> ContactOut:
    changed: list[str] = []
    async with session_scope() as session:
        contact = await visible_contact(session, principal, contact_id)
        if patch.name is not UNSET and patch.name.strip() != contact.name:
            contact.name = patch.name.strip()
            changed.append("name")
        if patch.company is not UNSET and patch.company.strip() != contact.company:
            contact.company = patch.company.strip()
            changed.append("company")
        try:
            if patch.email is not UNSET:
                email = normalise_email(patch.email) if patch.email and patch.email.strip() else None
                if email != contact.email:
                    contact.email = email
                    changed.append("email")
            if patch.phone is not UNSET:
                phone = normalise_phone(patch.phone) if patch.phone and patch.phone.strip() else None
                if phone != contact.phone:
                    contact.phone = phone
                    changed.append("phone")
        except InvalidAddress as exc:
            raise Invalid(f"{exc}; correct it or send null to clear it.") from exc
        if patch.attributes is not UNSET and patch.attributes:
            merged = dict(contact.attributes or {})
            for key, value in patch.attributes.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            if merged != contact.attributes:
                contact.attributes = merged
                changed.append("attributes")
        if changed:
            contact.updated_at = utcnow()
            session.add(
                Event(
                    kind="contact.updated",
                    contact_id=contact.id,
                    actor_kind="agent",
                    actor_id=principal.id,
                    data={"changed": changed},
                )
            )
        await session.flush()
        out = contact_out(contact, await _load_identities(session, contact.id))
    if changed:
        await events.emit(
            DomainEvent(
                name="contact.updated",
                contact_id=out.id,
                user_id=principal.id,
                data={**msgspec.to_builtins(out), "changed": changed},
            )
        )
    return out


async def contact_timeline(
    principal: Principal, contact_id: int, *, cursor: str | None, limit: int, order: timeline.Order
) -> timeline.TimelinePage:
    async with session_scope() as session:
        contact = await visible_contact(session, principal, contact_id)
        conv_ids = list(
            (
                await session.execute(
                    select(Conversation.id).where(
                        Conversation.contact_id == contact.id, inbox_clause(principal, Conversation.inbox_id)
                    )
                )
            ).scalars()
        )
        return await timeline.page(
            session,
            conversation_ids=conv_ids,
            contact_id=contact.id,
            cursor=cursor,
            limit=limit,
            order=order,
        )


async def merge(principal: Principal, contact_id: int, other_id: int) -> ContactOut:
    if other_id == contact_id:
        raise Invalid("A contact cannot be merged into itself; pick another contact.")
    async with session_scope() as session:
        target = await visible_contact(session, principal, contact_id)
        source = await visible_contact(session, principal, other_id)
        if source.merged_into_id is not None or target.merged_into_id is not None:
            raise Invalid("One of these contacts was already merged away; merge into the contact it points to.")
        pending = await merge_contacts(
            session, source_id=source.id, target_id=target.id, actor_kind="agent", actor_id=principal.id
        )
        await session.flush()
        await session.refresh(target)
        out = contact_out(target, await _load_identities(session, target.id))
    await events.emit(pending)
    return out
