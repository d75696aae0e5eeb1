"""The agent inbox pages: `/login`, `/` and `/app/...` (full pages and the htmx fragments they refresh).

Every page handler only reads; changes go from the browser to the REST API (`/api/v1/...`) with the
session's CSRF token, and the websocket events bring the results back to every open page.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_204_NO_CONTENT

from hub import extension, presence
from hub.auth.guards import requires_agent
from hub.auth.lookup import principal_for_user
from hub.auth.middleware import csrf_token_for
from hub.auth.principal import Principal
from hub.sanitize import clean_html
from web.inbox import queries
from web.inbox.queries import ListFilters

CHANNEL_LABELS = {"email": "Email", "sms": "SMS", "chat": "Chat", "slack": "Slack", "api": "API"}
SHORTCUTS = [
    ("j", "Next conversation"),
    ("k", "Previous conversation"),
    ("r", "Reply to the customer"),
    ("n", "Write a private note"),
    ("e", "Resolve the conversation"),
    ("a", "Assign to me"),
    ("/", "Search conversations"),
    ("Esc", "Leave the reply box / close this help"),
    ("?", "Show this help"),
]
AgentRequest = Request[Principal, Any, Any]


def _wants_fragment(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _to_login(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Signed-out visitors of an inbox page go to the login form (htmx requests via HX-Redirect)."""
    target = "/login"
    if request.method == "GET" and request.url.path.startswith("/app") and not _wants_fragment(request):
        target = f"/login?next={request.url.path}"
    if _wants_fragment(request):
        return Response(content="", status_code=401, headers={"HX-Redirect": target})
    return Redirect(target)


def _not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = getattr(exc, "detail", "") or "Not found."
    if _wants_fragment(request):
        return Template("inbox/_not_found.html", context={"detail": detail}, status_code=404)
    return Template("inbox/not_found.html", context={"detail": detail}, status_code=404)


def _forbidden(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    detail = getattr(exc, "detail", "") or "You may not open this page."
    return Template("inbox/not_found.html", context={"detail": detail}, status_code=403)


def fmt_time(value: datetime | None) -> str:
    """A compact UTC fallback; the page's script rewrites every <time> in the agent's local zone."""
    if value is None:
        return ""
    return value.strftime("%d %b %H:%M UTC")


def channel_label(kind: str) -> str:
    spec = extension.channels().get(kind)
    return spec.label if spec else CHANNEL_LABELS.get(kind, kind.title() or "—")


def _nav(user: Principal) -> list[tuple[str, str]]:
    """Links to the other agent areas that are installed in this build."""
    links = [("/app/", "Inbox")]
    if importlib.util.find_spec("web.help") is not None:
        links.append(("/app/kb", "Knowledge base"))
    if user.at_least("manager") and importlib.util.find_spec("web.dashboard") is not None:
        links.append(("/dashboard", "Dashboard"))
    return links


def _common(request: AgentRequest) -> dict[str, Any]:
    user = request.user
    return {
        "nav": _nav(user),
        "me": user,
        "csrf": csrf_token_for(request.session),
        "fmt_time": fmt_time,
        "clean": clean_html,
        "channel_label": channel_label,
        "shortcuts": SHORTCUTS,
        "view_labels": queries.VIEW_LABELS,
    }


async def _teammates(request: AgentRequest) -> list[dict[str, Any]]:
    """Everyone else with their live status (no open tab anywhere means offline)."""
    store = presence.service_for_app(request.app).store
    return [u for u in await presence.snapshot(store) if u["user_id"] != request.user.id]


async def _conversation_context(request: AgentRequest, conversation_id: int) -> dict[str, Any]:
    detail = await queries.detail(request.user, conversation_id)
    if detail is None:
        raise NotFoundException(f"There is no conversation {conversation_id} in your inboxes.")
    await queries.mark_read(request.user.id, conversation_id)
    items = await queries.timeline(request.user, detail.conversation)
    spec = extension.channels().get(detail.conversation.channel)
    return {
        "d": detail,
        "conv": detail.conversation,
        "items": items,
        "reply_channel": channel_label(detail.conversation.channel),
        "reply_to": _reply_address(detail, spec.identity_kind if spec else None),
    }


def _reply_address(detail: queries.Detail, kind: str | None) -> str:
    for ident in reversed(detail.identities):
        if kind is None or ident.kind == kind:
            return ident.address.split(":", 1)[-1] if ident.kind == "external" else ident.address
    return detail.contact.email or detail.contact.phone or ""


async def _list_context(request: AgentRequest, filters: ListFilters) -> dict[str, Any]:
    f = filters.normalised()
    page = await queries.list_conversations(request.user, f)
    return {"f": f, "page": page, "counts": await queries.view_counts(request.user, f.status)}


def _filters(
    view: str | None, status: str | None, inbox_id: str | None, channel: str | None, tag: str | None, q: str | None
) -> ListFilters:
    inbox = int(inbox_id) if inbox_id and inbox_id.strip().isdigit() else None
    return ListFilters(
        view=view or "mine", status=status or "open", inbox_id=inbox, channel=channel, tag=tag, q=q
    ).normalised()


ViewParam = Annotated[str | None, Parameter(query="view", required=False, description="mine|unassigned|team|all")]
StatusParam = Annotated[str | None, Parameter(query="status", required=False)]
# A string: the filter form sends an empty value for "All inboxes".
InboxParam = Annotated[str | None, Parameter(query="inbox_id", required=False, max_length=20)]
ChannelParam = Annotated[str | None, Parameter(query="channel", required=False)]
TagParam = Annotated[str | None, Parameter(query="tag", required=False)]
SearchParam = Annotated[str | None, Parameter(query="q", required=False, max_length=200)]
CursorParam = Annotated[str | None, Parameter(query="cursor", required=False, max_length=200)]
ConvId = Annotated[int, Parameter(description="Conversation id")]


class InboxPages(Controller):
    path = "/app"
    guards = [requires_agent]
    include_in_schema = False
    exception_handlers = {
        NotAuthorizedException: _to_login,
        NotFoundException: _not_found,
        PermissionDeniedException: _forbidden,
    }

    async def _page(self, request: AgentRequest, filters: ListFilters, conversation_id: int | None = None) -> Template:
        context = {**_common(request), **(await _list_context(request, filters))}
        context["options"] = await queries.filter_options(request.user)
        context["teammates"] = [
            u
            for u in await presence.snapshot(presence.service_for_app(request.app).store)
            if u["user_id"] != request.user.id
        ]
        context["unread_total"] = await queries.unread_total(request.user)
        context["my_status"] = await presence.get_availability(request.user.id) or "online"
        if conversation_id is not None:
            context.update(await _conversation_context(request, conversation_id))
        return Template("inbox/app.html", context=context)

    @get("/")
    async def index(
        self,
        request: AgentRequest,
        view: ViewParam = None,
        status: StatusParam = None,
        inbox_id: InboxParam = None,
        channel: ChannelParam = None,
        tag: TagParam = None,
        q: SearchParam = None,
    ) -> Template:
        """The inbox: conversation list on the left; pick one to open it."""
        return await self._page(request, _filters(view, status, inbox_id, channel, tag, q))

    @get("/list")
    async def conversation_list(
        self,
        request: AgentRequest,
        view: ViewParam = None,
        status: StatusParam = None,
        inbox_id: InboxParam = None,
        channel: ChannelParam = None,
        tag: TagParam = None,
        q: SearchParam = None,
        cursor: CursorParam = None,
        selected: Annotated[str | None, Parameter(query="selected", required=False, max_length=20)] = None,
    ) -> Template:
        """The list fragment; the address bar follows the filters so a reload keeps the view."""
        filters = _filters(view, status, inbox_id, channel, tag, q)
        filters.cursor = cursor
        chosen = int(selected) if selected and selected.isdigit() else None
        context = {**_common(request), **(await _list_context(request, filters)), "selected": chosen, "oob": True}
        if cursor:
            return Template("inbox/_list_more.html", context=context)
        query = urlencode(filters.query_args())
        page = f"/app/conversations/{chosen}" if chosen else "/app/"
        return Template(
            "inbox/_list.html", context=context, headers={"HX-Replace-Url": f"{page}?{query}" if query else page}
        )

    @get("/conversations/{conversation_id:int}")
    async def conversation(
        self,
        request: AgentRequest,
        conversation_id: ConvId,
        view: ViewParam = None,
        status: StatusParam = None,
        inbox_id: InboxParam = None,
        channel: ChannelParam = None,
        tag: TagParam = None,
        q: SearchParam = None,
    ) -> Template:
        if not _wants_fragment(request):
            return await self._page(request, _filters(view, status, inbox_id, channel, tag, q), conversation_id)
        context = {**_common(request), **(await _conversation_context(request, conversation_id))}
        return Template("inbox/_conversation.html", context=context)

    @get("/conversations/{conversation_id:int}/timeline")
    async def timeline(self, request: AgentRequest, conversation_id: ConvId) -> Template:
        context = {**_common(request), **(await _conversation_context(request, conversation_id))}
        return Template("inbox/_timeline.html", context=context)

    @get("/conversations/{conversation_id:int}/header")
    async def header(self, request: AgentRequest, conversation_id: ConvId) -> Template:
        detail = await queries.detail(request.user, conversation_id)
        if detail is None:
            raise NotFoundException(f"There is no conversation {conversation_id} in your inboxes.")
        context = {**_common(request), "d": detail, "conv": detail.conversation}
        return Template("inbox/_header.html", context=context)

    @get("/conversations/{conversation_id:int}/contact")
    async def contact(self, request: AgentRequest, conversation_id: ConvId) -> Template:
        detail = await queries.detail(request.user, conversation_id)
        if detail is None:
            raise NotFoundException(f"There is no conversation {conversation_id} in your inboxes.")
        context = {**_common(request), "d": detail, "conv": detail.conversation}
        return Template("inbox/_contact.html", context=context)

    @post("/conversations/{conversation_id:int}/read", status_code=HTTP_204_NO_CONTENT)
    async def read(self, request: AgentRequest, conversation_id: ConvId) -> None:
        """Mark everything in the conversation read for this agent (the open pane calls it on news)."""
        if await queries.visible_conversation(request.user, conversation_id) is None:
            raise NotFoundException(f"There is no conversation {conversation_id} in your inboxes.")
        await queries.mark_read(request.user.id, conversation_id)

    @get("/team")
    async def team(self, request: AgentRequest) -> Template:
        teammates = [
            u
            for u in await presence.snapshot(presence.service_for_app(request.app).store)
            if u["user_id"] != request.user.id
        ]
        return Template("inbox/_team.html", context={**_common(request), "teammates": teammates})


@get("/login", opt={"public": True}, include_in_schema=False)
async def login_page(
    request: Request[Any, Any, Any],
    next_path: Annotated[str | None, Parameter(query="next", required=False, max_length=500)] = None,
) -> Response[Any]:
    """The sign-in form; it posts to /api/v1/auth/login from the page's script and keeps only the cookie."""
    target = next_path if next_path and next_path.startswith("/app") else "/app"
    if await _signed_in(request):
        return Redirect(target)
    return Template("inbox/login.html", context={"next": target})


@get("/", opt={"public": True}, include_in_schema=False)
async def root(request: Request[Any, Any, Any]) -> Redirect:
    return Redirect("/app" if await _signed_in(request) else "/login")


async def _signed_in(request: Request[Any, Any, Any]) -> bool:
    """A session whose user still exists and is active (a disabled account must not loop /login <-> /app)."""
    user_id = request.session.get("user_id") if isinstance(request.session, dict) else None
    return user_id is not None and await principal_for_user(int(user_id)) is not None
