"""The kernel's tables. Other packages define theirs on the same `hub.db.Base`."""

from hub.models.contact import Contact, ContactIdentity
from hub.models.conversation import Conversation, ConversationTag
from hub.models.event import Event
from hub.models.inbox import Inbox, InboxMember
from hub.models.message import Attachment, Message
from hub.models.user import ApiToken, Team, TeamMember, User

__all__ = [
    "ApiToken",
    "Attachment",
    "Contact",
    "ContactIdentity",
    "Conversation",
    "ConversationTag",
    "Event",
    "Inbox",
    "InboxMember",
    "Message",
    "Team",
    "TeamMember",
    "User",
]
