"""The agents' live inbox in the browser: `/login`, `/app` (three panes: list, conversation, contact),
presence and collision hints over `/ws/agent`, keyboard shortcuts. Pages read the database; changes go
through the REST API; the websocket keeps every open page current."""

from pathlib import Path

from hub import presence
from hub.extension import Extension
from web.inbox.pages import InboxPages, login_page, root

HERE = Path(__file__).parent


def setup() -> None:
    presence.install()


extension = Extension(
    name="web-inbox",
    route_handlers=[InboxPages, login_page, root],
    setup=setup,
    on_shutdown=[presence.shutdown],
    template_dirs=[HERE / "templates"],
    static_dirs={"/static/inbox": HERE / "static"},
)
