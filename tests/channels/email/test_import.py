"""`hub import-mail`: mbox and Maildir, threading across imported history, idempotent on Message-ID."""

from __future__ import annotations

import mailbox
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.email.importer import NotAMailbox, import_mailbox
from hub.db import session_scope
from hub.models import Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox

ROOT = Path(__file__).resolve().parents[3]


def _history(addr: str) -> list[bytes]:
    root = samples.new_id()
    return [
        samples.simple(to=addr, message_id=root, body="the first mail"),
        samples.gmail_reply("Ann <ann@customer.test>", addr, root, [root], "the follow-up", samples.new_id()),
        samples.latin1_outlook(to=addr),
        b"Subject: no sender\r\n\r\nnothing\r\n",
    ]


async def _rows(inbox_id: int) -> list[tuple[int, str]]:
    async with session_scope() as s:
        return list(
            (await s.execute(select(Message.conversation_id, Message.text).where(Message.inbox_id == inbox_id))).all()
        )


async def test_import_mbox_twice(client, tmp_path):
    inbox = await email_inbox()
    path = tmp_path / "archive.mbox"
    box = mailbox.mbox(str(path))
    for raw in _history(inbox.settings["address"]):
        box.add(raw)
    box.close()
    first = await import_mailbox(path, inbox.id)
    assert (first.total, first.stored, first.duplicates, len(first.rejected)) == (4, 3, 0, 1)
    assert "no sender" in first.rejected[0] or "sender" in first.rejected[0]
    second = await import_mailbox(path, str(inbox.public_token))
    assert (second.stored, second.duplicates) == (0, 3)
    rows = await _rows(inbox.id)
    assert len(rows) == 3
    conv = {text: c for c, text in rows}
    assert conv["the first mail"] == conv["the follow-up"]  # threaded by References


async def test_import_maildir(client, tmp_path):
    inbox = await email_inbox()
    box = mailbox.Maildir(str(tmp_path / "Maildir"), create=True)
    for raw in _history(inbox.settings["address"])[:3]:
        box.add(raw)
    box.close()
    result = await import_mailbox(tmp_path / "Maildir", inbox.id)
    assert result.stored == 3
    assert (await import_mailbox(tmp_path / "Maildir", inbox.id)).stored == 0


async def test_not_a_mailbox(client, tmp_path):
    inbox = await email_inbox()
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "folder").mkdir()
    for bad in (tmp_path / "notes.txt", tmp_path / "folder", tmp_path / "missing"):
        with pytest.raises(NotAMailbox):
            await import_mailbox(bad, inbox.id)


async def test_cli_command(client, stack, tmp_path):
    if stack.is_pg:
        pytest.skip("the command is the same on both stacks (import_mailbox is tested on both); one run is enough")
    inbox = await email_inbox()
    path = tmp_path / "cli.mbox"
    box = mailbox.mbox(str(path))
    for raw in _history(inbox.settings["address"])[:3]:
        box.add(raw)
    box.close()
    cmd = [sys.executable, "-c", "from hub.cli import main; main()", "import-mail", str(path), "--inbox", str(inbox.id)]
    env = {**os.environ, **stack.env}
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "3 stored" in out.stdout
    bad = subprocess.run(
        [*cmd[:4], str(tmp_path), "--inbox", str(inbox.id)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "not a Maildir" in bad.stderr
    assert len(await _rows(inbox.id)) == 3
