"""`hub smtp`: the listener as its own process (Procfile `smtp: hub smtp`)."""

from __future__ import annotations

import asyncio
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.db import session_scope
from hub.models import Message
from tests.channels.email import samples
from tests.channels.email.conftest import email_inbox
from tests.stacks import free_port

ROOT = Path(__file__).resolve().parents[3]


async def test_hub_smtp_process(client, stack, tmp_path):
    if stack.is_pg:
        pytest.skip("the process is the same on both stacks; its storage path is tested on both")
    inbox = await email_inbox()
    port = free_port()
    log = tmp_path / "smtp.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from hub.cli import main; main()", "smtp", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **stack.env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
        addr = inbox.settings["address"]

        def deliver() -> None:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
                smtp.sendmail("ann@customer.test", [addr], samples.simple(to=addr, body="via hub smtp"))

        await asyncio.to_thread(deliver)
        async with session_scope() as s:
            texts = (await s.execute(select(Message.text).where(Message.inbox_id == inbox.id))).scalars().all()
        assert texts == ["via hub smtp"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0, log.read_text()
