"""The agent REST API under /api/v1 and the agent websocket."""

from hub.api.health import health
from hub.api.session import SessionController
from hub.api.v1 import api_v1
from hub.api.ws_agent import agent_socket
from hub.extension import Extension

extension = Extension(
    name="api",
    route_handlers=[health, SessionController, agent_socket, api_v1],
)
