"""`/api/v1/conversations`: the inbox list, one conversation, changes, replies, notes and its timeline."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, patch, post
from litestar.params import Body, Parameter

from hub.api.params import Cursor, Limit, id_param, principal
from hub.auth.guards import requires_agent
from hub.schemas import ConversationOut, MessageOut
from hub.services import conversations as svc
from hub.services.timeline import TimelinePage

ConversationId = Annotated[int, id_param("conversation")]
OptionalId = Annotated[int | None, Parameter(ge=1, le=2**62)]
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        max_length=200,
        description="Send the same key when retrying: the message is stored (and sent) once.",
    ),
]


class ConversationController(Controller):
    path = "/conversations"
    tags = ["conversations"]
    guards = [requires_agent]

    @get("/", summary="List conversations")
    async def list_conversations(
        self,
        request: Request[Any, Any, Any],
        status: Annotated[
            list[str] | None,
            Parameter(description="open, pending, snoozed, resolved or closed; repeat it or comma-separate."),
        ] = None,
        inbox_id: OptionalId = None,
        assignee_id: OptionalId = None,
        assignee: Annotated[
            Literal["me", "none"] | None, Parameter(description="`me`: mine; `none`: unassigned.")
        ] = None,
        team_id: OptionalId = None,
        tag: Annotated[str | None, Parameter(max_length=64)] = None,
        contact_id: OptionalId = None,
        q: Annotated[str | None, Parameter(max_length=200, description="Text in the subject or last message.")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> svc.ConversationPage:
        """Newest activity first. Follow `next_cursor` for older conversations; it is null on the last page."""
        statuses = [s.strip() for raw in status or [] for s in raw.split(",") if s.strip()] or None
        filters = svc.ConversationFilters(
            status=statuses,
            inbox_id=inbox_id,
            assignee_id=assignee_id,
            assignee=assignee,
            team_id=team_id,
            tag=tag,
            contact_id=contact_id,
            q=q,
        )
        return await svc.list_conversations(principal(request), filters, cursor=cursor, limit=limit)

    @get("/{conversation_id:int}", summary="Read a conversation")
    async def get_conversation(
        self, request: Request[Any, Any, Any], conversation_id: ConversationId
    ) -> ConversationOut:
        return await svc.get_conversation(principal(request), conversation_id)

    @patch("/{conversation_id:int}", summary="Change status, priority, assignee, team, tags or snooze")
    async def patch_conversation(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Annotated[svc.ConversationPatch, Body(title="Conversation changes")],
    ) -> ConversationOut:
        """Each change is recorded on the timeline and announced as `conversation.updated`."""
        return await svc.patch_conversation(principal(request), conversation_id, data)

    @get("/{conversation_id:int}/messages", summary="The conversation's timeline")
    async def timeline(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        cursor: Cursor = None,
        limit: Limit = 50,
        order: Annotated[
            Literal["asc", "desc"], Parameter(description="`desc` (default): newest first; `asc`: oldest first.")
        ] = "desc",
    ) -> TimelinePage:
        """Messages and events merged in time order."""
        return await svc.conversation_timeline(
            principal(request), conversation_id, cursor=cursor, limit=limit, order=order
        )

    @post("/{conversation_id:int}/messages", summary="Reply to the contact")
    async def reply(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Annotated[svc.MessageIn, Body(title="Reply")],
        idempotency_key: IdempotencyKey = None,
    ) -> MessageOut:
        """Stored as `queued` and delivered through the inbox's channel; watch its `status` for the outcome."""
        return await svc.add_message(
            principal(request), conversation_id, data, private=False, idempotency_key=idempotency_key
        )

    @post("/{conversation_id:int}/notes", summary="Add a private note")
    async def note(
        self,
        request: Request[Any, Any, Any],
        conversation_id: ConversationId,
        data: Annotated[svc.MessageIn, Body(title="Note")],
        idempotency_key: IdempotencyKey = None,
    ) -> MessageOut:
        """Visible to agents only; never sent to the contact."""
        return await svc.add_message(
            principal(request), conversation_id, data, private=True, idempotency_key=idempotency_key
        )
