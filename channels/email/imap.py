"""Polling an IMAP mailbox (stdlib imaplib, run in a thread so the event loop never blocks).

Which mail is new is kept on the server, not in a table: after a message is stored the hub sets the
keyword `$HubIngested` on it (or \\Seen when the server allows no keywords) and next time searches for
mail without it. A crash or a server restart between storing and flagging only means the message is
fetched again, and ingest recognises it by its Message-ID, so mail is stored exactly once. Fetching uses
BODY.PEEK so a person reading the same mailbox still sees it as unread.

Scheduling: a light loop in each web process enqueues the `email.imap_poll` job per IMAP inbox when its
poll interval has passed; the job key makes overlapping polls of one inbox run once.
"""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import os
import re
import ssl
import time

import msgspec
from sqlalchemy import select

from channels.email.receive import receive
from channels.email.settings import EmailSettings, load_credentials, load_settings
from hub.db import session_scope
from hub.inboxes import get_inbox_config
from hub.ingest import IngestRejected
from hub.jobs import enqueue, job
from hub.models import Inbox

log = logging.getLogger("channels.email.imap")
KEYWORD = "$HubIngested"
BATCH = 200
POLL_JOB = "email.imap_poll"
_PERMANENTFLAGS = re.compile(rb"\[PERMANENTFLAGS \(([^)]*)\)\]")


class PollResult(msgspec.Struct):
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0


class ImapMailbox:
    """A blocking IMAP session; every method is called through asyncio.to_thread."""

    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings = settings
        self.password = password or ""
        self.conn: imaplib.IMAP4 | None = None
        self.use_keyword = True

    def open(self) -> None:
        s = self.settings
        assert s.imap_host
        if s.imap_ssl:
            context = ssl.create_default_context()
            self.conn = imaplib.IMAP4_SSL(s.imap_host, s.imap_port, ssl_context=context, timeout=30)
        else:
            self.conn = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=30)
        self.conn.login(s.imap_username or s.address, self.password)
        typ, _ = self.conn.select(_quote(s.imap_folder))
        if typ != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {s.imap_folder!r}")
        flags = b" ".join(
            x for x in self.conn.untagged_responses.get("OK", []) if isinstance(x, bytes) and b"PERMANENTFLAGS" in x
        )
        match = _PERMANENTFLAGS.search(flags)
        self.use_keyword = match is None or b"\\*" in match.group(1) or KEYWORD.encode() in match.group(1)

    def new_uids(self) -> list[bytes]:
        assert self.conn is not None
        criteria = f"UNKEYWORD {KEYWORD}" if self.use_keyword else "UNSEEN"
        typ, data = self.conn.uid("SEARCH", criteria)
        if typ != "OK":
            raise imaplib.IMAP4.error(f"SEARCH failed: {data!r}")
        return (data[0] or b"").split()[:BATCH]

    def fetch(self, uid: bytes) -> bytes | None:
        assert self.conn is not None
        typ, data = self.conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"FETCH {uid!r} failed: {data!r}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None  # expunged meanwhile

    def mark(self, uid: bytes) -> None:
        assert self.conn is not None
        flag = KEYWORD if self.use_keyword else "\\Seen"
        typ, data = self.conn.uid("STORE", uid.decode(), "+FLAGS.SILENT", f"({flag})")
        if typ != "OK":
            raise imaplib.IMAP4.error(f"STORE {uid!r} failed: {data!r}")

    def close(self) -> None:
        if self.conn is None:
            return
        with contextlib.suppress(Exception):
            self.conn.logout()
        self.conn = None


def _quote(folder: str) -> str:
    return folder if folder.isalnum() else '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def poll_inbox(inbox_id: int) -> PollResult:
    """One pass over the mailbox. Network errors propagate (the job retries); messages are never lost."""
    config = await get_inbox_config(inbox_id, "email")
    settings = load_settings(config.settings)
    if not settings.imap_host:
        return PollResult()
    mailbox = ImapMailbox(settings, load_credentials(config.credentials).imap_password)
    result = PollResult()
    try:
        await asyncio.to_thread(mailbox.open)
        uids = await asyncio.to_thread(mailbox.new_uids)
        for uid in uids:
            raw = await asyncio.to_thread(mailbox.fetch, uid)
            if raw is None:
                continue
            result.fetched += 1
            try:
                received = await receive(config, raw, source="imap", settings=settings, keep_date=True)
            except IngestRejected as exc:
                # Unstorable mail (no sender, not an email): flag it so it is not fetched forever; logged.
                log.warning("IMAP inbox %s: message UID %s rejected: %s", inbox_id, uid.decode(), exc)
                result.rejected += 1
            else:
                if received.created or received.bounce_for is not None:
                    result.stored += 1
                else:
                    result.duplicates += 1
            await asyncio.to_thread(mailbox.mark, uid)
    finally:
        await asyncio.to_thread(mailbox.close)
    return result


@job(POLL_JOB, retries=3, backoff_seconds=5.0, timeout_seconds=600.0)
async def poll_job(inbox_id: int) -> None:
    result = await poll_inbox(inbox_id)
    if result.fetched:
        log.info("IMAP inbox %s: %s", inbox_id, msgspec.to_builtins(result))


async def imap_inboxes() -> list[tuple[int, int]]:
    """(inbox id, poll seconds) of every active email inbox with an IMAP host."""
    async with session_scope() as session:
        rows = (await session.execute(select(Inbox).where(Inbox.channel == "email", Inbox.active))).scalars().all()
        found = []
        for row in rows:
            try:
                settings = load_settings(dict(row.settings or {}))
            except msgspec.ValidationError:
                continue
            if settings.imap_host:
                found.append((row.id, settings.imap_poll_seconds))
    return found


def _refresh_seconds() -> float:
    """How often the scheduler re-reads which inboxes to poll (a new or changed inbox waits at most this
    long): HUB_EMAIL_IMAP_REFRESH_SECONDS, 5 s by default."""
    try:
        return max(0.1, float(os.environ.get("HUB_EMAIL_IMAP_REFRESH_SECONDS", "") or 5.0))
    except ValueError:
        return 5.0


class PollScheduler:
    def __init__(self, tick: float = 1.0, refresh: float | None = None) -> None:
        self.tick = tick
        self.refresh = refresh
        self.task: asyncio.Task[None] | None = None
        self._due: dict[int, float] = {}

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="email-imap-scheduler")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None

    async def _run(self) -> None:
        refreshed = 0.0
        refresh = self.refresh if self.refresh is not None else _refresh_seconds()
        tick = min(self.tick, refresh)
        inboxes: list[tuple[int, int]] = []
        while True:
            try:
                now = time.monotonic()
                if now - refreshed >= refresh:
                    inboxes = await imap_inboxes()
                    refreshed = now
                for inbox_id, every in inboxes:
                    if self._due.get(inbox_id, 0.0) <= now:
                        self._due[inbox_id] = now + every
                        await enqueue(POLL_JOB, key=str(inbox_id), inbox_id=inbox_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("IMAP scheduling failed; trying again shortly")
            await asyncio.sleep(tick)
