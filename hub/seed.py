"""The demo workspace a first `hub serve` creates, so a new user sees a working inbox at once."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import func, select

from hub.auth.passwords import hash_password
from hub.db import session_scope
from hub.inbound import Identity, InboundMessage
from hub.ingest import ingest
from hub.models import Inbox, InboxMember, Team, TeamMember, User

DEMO_EMAIL = "admin@demo.example"


def new_public_token() -> str:
    return secrets.token_urlsafe(18)


async def seed_demo(data_dir: Path) -> str | None:
    """Returns the admin's login line when it created the workspace, None when users already exist."""
    async with session_scope() as session:
        if (await session.execute(select(func.count(User.id)))).scalar_one() > 0:
            return None
        password = secrets.token_urlsafe(12)
        admin = User(email=DEMO_EMAIL, name="Demo Admin", role="admin", password_hash=hash_password(password))
        agent = User(
            email="agent@demo.example",
            name="Avery Agent",
            role="agent",
            password_hash=hash_password(password),
        )
        team = Team(name="Support", description="First line support")
        session.add_all([admin, agent, team])
        await session.flush()
        session.add_all([TeamMember(team_id=team.id, user_id=admin.id), TeamMember(team_id=team.id, user_id=agent.id)])
        inboxes = [
            Inbox(
                name="Website chat",
                channel="chat",
                public_token=new_public_token(),
                team_id=team.id,
                settings={"greeting": "Hi! How can we help?", "color": "#2563eb"},
                credentials={"identity_secret": secrets.token_urlsafe(32)},
            ),
            Inbox(
                name="Support email",
                channel="email",
                public_token=new_public_token(),
                team_id=team.id,
                settings={"address": "support@demo.example"},
                credentials={"webhook_secret": secrets.token_urlsafe(32)},
            ),
            Inbox(
                name="API",
                channel="api",
                public_token=new_public_token(),
                team_id=team.id,
                settings={},
                credentials={"hmac_secret": secrets.token_urlsafe(32)},
            ),
        ]
        session.add_all(inboxes)
        await session.flush()
        for inbox in inboxes:
            session.add_all([InboxMember(inbox_id=inbox.id, user_id=agent.id)])
        chat, email, _api = inboxes
        chat_id, email_id = chat.id, email.id
    samples = [
        (
            chat_id,
            Identity("visitor", "demo-visitor-1"),
            "Hi, I can't find the invoice for my last order.",
            "Dana",
        ),
        (email_id, Identity("email", "sam@example.org"), "Hello, how do I reset my password?", "Sam Rivera"),
        (email_id, Identity("email", "lee@example.net"), "Is there a discount for non-profits?", "Lee Chen"),
    ]
    for n, (inbox_id, ident, text, name) in enumerate(samples):
        await ingest(
            InboundMessage(
                inbox_id=inbox_id,
                provider_id=f"demo-{n}",
                sender=ident,
                text=text,
                sender_name=name,
                subject=text[:60] if ident.kind == "email" else None,
            )
        )
    line = f"Demo admin login: {DEMO_EMAIL} / {password}   (agent: agent@demo.example, same password)"
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "demo-login.txt").write_text(line + "\n")
    return line
