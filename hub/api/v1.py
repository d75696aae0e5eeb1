"""The `/api/v1` router: every resource controller, agent role or better, service errors mapped to 4xx."""

from __future__ import annotations

from litestar import Router
from litestar.status_codes import HTTP_400_BAD_REQUEST

from hub.api.attachments import download_attachment
from hub.api.contacts import ContactController
from hub.api.conversations import ConversationController
from hub.api.inboxes import InboxController
from hub.api.nul import refuse_nul
from hub.api.params import bad_request_handler, service_error_handler
from hub.api.teams import TeamController
from hub.api.tokens import TokenController
from hub.api.users import UserController
from hub.auth.guards import requires_agent
from hub.services.errors import ServiceError

api_v1 = Router(
    path="/api/v1",
    route_handlers=[
        ConversationController,
        ContactController,
        InboxController,
        UserController,
        TeamController,
        TokenController,
        download_attachment,
    ],
    guards=[requires_agent],
    before_request=refuse_nul,
    exception_handlers={ServiceError: service_error_handler, HTTP_400_BAD_REQUEST: bad_request_handler},
)
