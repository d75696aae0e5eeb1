"""`hub import-mail PATH --inbox ID`: bring an mbox file or a Maildir into an inbox, once.

Every message goes through the same path as live mail (`receive`), so threading works across imported
history and a second import of the same mailbox stores nothing new (idempotent on Message-ID).
"""

from __future__ import annotations

import logging
import mailbox
from collections.abc import Iterator
from pathlib import Path

import msgspec

from channels.email.receive import receive
from channels.email.settings import load_settings
from hub.inboxes import get_inbox_config
from hub.ingest import IngestRejected

log = logging.getLogger("channels.email.importer")


class ImportResult(msgspec.Struct):
    total: int = 0
    stored: int = 0
    duplicates: int = 0
    bounces: int = 0
    rejected: list[str] = msgspec.field(default_factory=list)


class NotAMailbox(ValueError):
    pass


def iter_mailbox(path: Path) -> Iterator[bytes]:
    """Raw messages of a Maildir (a folder with cur/ and new/) or an mbox file, in stored order."""
    if path.is_dir():
        if not (path / "cur").is_dir() and not (path / "new").is_dir():
            raise NotAMailbox(f"{path} is a folder but not a Maildir (it has no cur/ or new/ folder)")
        box: mailbox.Mailbox[mailbox.Message] = mailbox.Maildir(str(path), factory=None, create=False)
    elif path.is_file():
        with path.open("rb") as fh:
            if not fh.read(5) == b"From ":
                raise NotAMailbox(f"{path} is not an mbox file (it does not start with a 'From ' line)")
        box = mailbox.mbox(str(path), create=False)
    else:
        raise NotAMailbox(f"{path} does not exist")
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


async def import_mailbox(path: Path, inbox_ref: str | int) -> ImportResult:
    config = await get_inbox_config(inbox_ref, "email")
    settings = load_settings(config.settings)
    result = ImportResult()
    for index, raw in enumerate(iter_mailbox(path), start=1):
        result.total += 1
        try:
            received = await receive(config, raw, source="import", settings=settings, keep_date=True)
        except IngestRejected as exc:
            result.rejected.append(f"message {index}: {exc}")
            continue
        if received.bounce_for is not None:
            result.bounces += 1
        elif received.created:
            result.stored += 1
        else:
            result.duplicates += 1
    return result
