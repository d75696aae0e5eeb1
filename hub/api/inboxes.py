"""`/api/v1/inboxes`: agents read their inboxes (never credentials); admins configure them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import Body

from hub.api.params import id_param, principal
from hub.auth.guards import requires_admin, requires_agent
from hub.services import inboxes as svc

InboxId = Annotated[int, id_param("inbox")]


class InboxController(Controller):
    path = "/inboxes"
    tags = ["inboxes"]
    guards = [requires_agent]

    @get("/", summary="List the inboxes you can see")
    async def list_inboxes(self, request: Request[Any, Any, Any]) -> list[svc.InboxOut]:
        return await svc.list_inboxes(principal(request))

    @get("/{inbox_id:int}", summary="Read an inbox")
    async def get_inbox(self, request: Request[Any, Any, Any], inbox_id: InboxId) -> svc.InboxOut:
        """`credential_keys` lists which secrets are set; the secrets themselves are never returned."""
        return await svc.get_inbox(principal(request), inbox_id)

    @post("/", summary="Create an inbox", guards=[requires_admin])
    async def create_inbox(self, data: Annotated[svc.InboxCreate, Body(title="Inbox")]) -> svc.InboxOut:
        """`settings` and `credentials` are checked against the channel's own schema."""
        return await svc.create_inbox(data)

    @patch("/{inbox_id:int}", summary="Change an inbox", guards=[requires_admin])
    async def update_inbox(
        self,
        request: Request[Any, Any, Any],
        inbox_id: InboxId,
        data: Annotated[svc.InboxPatch, Body(title="Inbox changes")],
    ) -> svc.InboxOut:
        return await svc.update_inbox(principal(request), inbox_id, data)

    @delete("/{inbox_id:int}", summary="Delete an unused inbox", guards=[requires_admin])
    async def delete_inbox(self, inbox_id: InboxId) -> None:
        """An inbox with conversations answers 409: deactivate it instead so no history is lost."""
        await svc.delete_inbox(inbox_id)

    @get("/{inbox_id:int}/members", summary="Who works this inbox")
    async def get_members(self, request: Request[Any, Any, Any], inbox_id: InboxId) -> svc.MembersOut:
        return await svc.get_members(principal(request), inbox_id)

    @put("/{inbox_id:int}/members", summary="Set who works this inbox", guards=[requires_admin])
    async def set_members(
        self,
        request: Request[Any, Any, Any],
        inbox_id: InboxId,
        data: Annotated[svc.MembersIn, Body(title="Members")],
    ) -> svc.MembersOut:
        return await svc.set_members(principal(request), inbox_id, data)
