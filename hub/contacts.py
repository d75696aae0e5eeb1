"""Finding the contact behind an identity, linking identities, and merging two contacts into one."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import utcnow
from hub.events import DomainEvent
from hub.inbound import Identity
from hub.locks import lock_key, xact_lock
from hub.models import Contact, ContactIdentity, Conversation, Event


async def resolve_contact(
    session: AsyncSession, identities: list[Identity], name: str | None, *, locked: bool = False
) -> tuple[int, bool, list[DomainEvent]]:
    """The contact owning the first identity, created if none; verified extra identities link or merge.

    Returns (contact id, created, events to emit after commit).
    """
    if not locked:
        await xact_lock(session, *(lock_key("identity", i.kind, i.address) for i in identities))
    rows = (
        await session.execute(
            select(ContactIdentity.kind, ContactIdentity.address, ContactIdentity.contact_id).where(
                ContactIdentity.address.in_([i.address for i in identities])
            )
        )
    ).all()
    owners = {(k, a): cid for k, a, cid in rows}
    primary = identities[0]
    events: list[DomainEvent] = []
    created = False
    contact_id = owners.get((primary.kind, primary.address))
    if contact_id is None:
        # A verified secondary identity (widget HMAC email) may already know this person.
        contact_id = next(
            (owners[(i.kind, i.address)] for i in identities[1:] if i.verified and (i.kind, i.address) in owners),
            None,
        )
    if contact_id is None:
        contact = Contact(
            name=name or _display_name(primary),
            email=next((i.address for i in identities if i.kind == "email"), None),
            phone=next((i.address for i in identities if i.kind == "phone"), None),
            verified=any(i.verified for i in identities),
            attributes={},
        )
        session.add(contact)
        await session.flush()
        contact_id = contact.id
        created = True
    for ident in identities:
        owner = owners.get((ident.kind, ident.address))
        if owner is None:
            if ident is primary or ident.verified:
                session.add(
                    ContactIdentity(
                        contact_id=contact_id, kind=ident.kind, address=ident.address, verified=ident.verified
                    )
                )
                if not created:
                    await _fill_contact_fields(session, contact_id, ident)
        elif owner != contact_id and ident.verified:
            events.extend(await merge_contacts(session, source_id=owner, target_id=contact_id, actor_kind="system"))
    if len(identities) > 1 or created:
        await session.flush()
    return contact_id, created, events


def _display_name(identity: Identity) -> str:
    if identity.kind == "email":
        return identity.address.split("@", 1)[0]
    if identity.kind == "phone":
        return identity.address
    return ""


async def _fill_contact_fields(session: AsyncSession, contact_id: int, ident: Identity) -> None:
    if ident.kind == "email":
        await session.execute(
            update(Contact).where(Contact.id == contact_id, Contact.email.is_(None)).values(email=ident.address)
        )
    elif ident.kind == "phone":
        await session.execute(
            update(Contact).where(Contact.id == contact_id, Contact.phone.is_(None)).values(phone=ident.address)
        )
    if ident.verified:
        await session.execute(update(Contact).where(Contact.id == contact_id).values(verified=True))


async def merge_contacts(
    session: AsyncSession,
    *,
    source_id: int,
    target_id: int,
    actor_kind: str = "agent",
    actor_id: int | None = None,
) -> list[DomainEvent]:
    """Move everything of `source` onto `target`; `source` stays as a tombstone pointing at `target`."""
    if source_id == target_id:
        return []
    source = await session.get(Contact, source_id)
    target = await session.get(Contact, target_id)
    if source is None or target is None:
        raise LookupError("both contacts must exist to merge them")
    await session.execute(
        update(ContactIdentity).where(ContactIdentity.contact_id == source_id).values(contact_id=target_id)
    )
    await session.execute(update(Conversation).where(Conversation.contact_id == source_id).values(contact_id=target_id))
    await session.execute(update(Event).where(Event.contact_id == source_id).values(contact_id=target_id))
    target.email = target.email or source.email
    target.phone = target.phone or source.phone
    target.name = target.name or source.name
    target.company = target.company or source.company
    target.attributes = {**(source.attributes or {}), **(target.attributes or {})}
    target.verified = target.verified or source.verified
    target.updated_at = utcnow()
    source.merged_into_id = target_id
    session.add(
        Event(
            kind="contact.merged",
            contact_id=target_id,
            actor_kind=actor_kind,
            actor_id=actor_id,
            data={"source_id": source_id, "target_id": target_id},
        )
    )
    return [
        DomainEvent(name="contact.updated", contact_id=target_id, data={"id": target_id, "merged_from": source_id}),
    ]
