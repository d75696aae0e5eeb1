"""`/api/v1/contacts`: search, profile, edits, the cross-channel timeline and merging."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.params import Body, Parameter

from hub.api.params import Cursor, Limit, id_param, principal
from hub.auth.guards import requires_agent
from hub.schemas import ContactOut
from hub.services import contacts as svc
from hub.services.timeline import TimelinePage

ContactId = Annotated[int, id_param("contact")]


class ContactController(Controller):
    path = "/contacts"
    tags = ["contacts"]
    guards = [requires_agent]

    @get("/", summary="Search contacts")
    async def search(
        self,
        request: Request[Any, Any, Any],
        q: Annotated[str | None, Parameter(max_length=200, description="Name, email, phone or company.")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> svc.ContactPage:
        return await svc.search_contacts(principal(request), q, cursor=cursor, limit=limit)

    @get("/{contact_id:int}", summary="Read a contact with their identities")
    async def get_contact(self, request: Request[Any, Any, Any], contact_id: ContactId) -> ContactOut:
        return await svc.get_contact(principal(request), contact_id)

    @patch("/{contact_id:int}", summary="Edit a contact")
    async def patch_contact(
        self,
        request: Request[Any, Any, Any],
        contact_id: ContactId,
        data: Annotated[svc.ContactPatch, Body(title="Contact changes")],
    ) -> ContactOut:
        return await svc.patch_contact(principal(request), contact_id, data)

    @get("/{contact_id:int}/timeline", summary="Everything with this contact, across channels")
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        contact_id: ContactId,
        cursor: Cursor = None,
        limit: Limit = 50,
        order: Annotated[Literal["asc", "desc"], Parameter(description="`desc`: newest first.")] = "desc",
    ) -> TimelinePage:
        """Messages and events of every conversation with this contact in the inboxes you can see."""
        return await svc.contact_timeline(principal(request), contact_id, cursor=cursor, limit=limit, order=order)

    @post("/{contact_id:int}/merge", summary="Merge another contact into this one", status_code=200)
    async def merge(
        self,
        request: Request[Any, Any, Any],
        contact_id: ContactId,
        data: Annotated[svc.MergeIn, Body(title="The contact to merge in")],
    ) -> ContactOut:
        """`other_id`'s identities and conversations move here; it remains only as a pointer."""
        return await svc.merge(principal(request), contact_id, data.other_id)
