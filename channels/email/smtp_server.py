"""The hub's own SMTP listener (aiosmtpd), on the process's event loop so it shares the database engine.

RCPT is accepted only for configured inbox addresses (incl. plus-addresses); anything else gets
`550 5.1.1 no such mailbox`, so the listener is never an open relay. The SIZE limit is announced and
enforced (552). STARTTLS is offered when HUB_SMTP_TLS_CERT and HUB_SMTP_TLS_KEY name a PEM certificate
and key (sending MTAs then encrypt opportunistically). A message is stored -- ingest committed -- before
`250` is answered; a temporary problem answers 451 so the sending MTA retries (and the retry is
deduplicated on Message-ID).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import ssl
from typing import TYPE_CHECKING, Any

from channels.email import directory
from channels.email.receive import MessageTooLarge, receive
from channels.email.settings import server_max_message_bytes
from hub.ingest import IngestRejected

if TYPE_CHECKING:
    from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("channels.email.smtp")


class HubHandler:
    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            inboxes = await directory.inboxes_for(address)
        except Exception:
            log.exception("inbox look-up failed for %s", address)
            return "451 4.3.0 temporary failure looking up the mailbox; try again later"
        if not inboxes:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        mail_from = envelope.mail_from if isinstance(envelope.mail_from, str) else None
        by_inbox: dict[int, Any] = {}
        rcpts: dict[int, list[str]] = {}
        try:
            for rcpt in envelope.rcpt_tos:
                for config, settings in await directory.inboxes_for(rcpt):
                    by_inbox[config.id] = (config, settings)
                    rcpts.setdefault(config.id, []).append(rcpt)
        except Exception:  # the database is away: ask the sender to retry rather than bounce the mail
            log.exception("inbox look-up failed while receiving DATA")
            return "451 4.3.0 temporary failure looking up the mailbox; try again later"
        if not by_inbox:
            return "554 5.5.1 no valid recipients"
        stored: list[str] = []
        for inbox_id, (config, settings) in by_inbox.items():
            try:
                result = await receive(
                    config, raw, source="smtp", recipients=rcpts[inbox_id], envelope_from=mail_from, settings=settings
                )
            except MessageTooLarge as exc:
                return f"552 5.3.4 {exc}"
            except IngestRejected as exc:
                return f"550 5.6.0 message rejected: {_one_line(str(exc))}"
            except Exception:
                log.exception("storing mail for inbox %s failed", inbox_id)
                return "451 4.3.0 the message could not be stored right now; try again later"
            stored.append(result.provider_id)
        return f"250 2.0.0 OK stored {_one_line(stored[0])[:200]}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def tls_context_from_env() -> ssl.SSLContext | None:
    cert, key = os.environ.get("HUB_SMTP_TLS_CERT", ""), os.environ.get("HUB_SMTP_TLS_KEY", "")
    if not cert or not key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


class SmtpListener:
    """Started and stopped with the process; several web processes share the port via SO_REUSEPORT."""

    def __init__(
        self, host: str, port: int, *, hostname: str | None = None, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.hostname = hostname or socket.getfqdn()
        self.tls_context = tls_context if tls_context is not None else tls_context_from_env()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        handler = HubHandler()
        limit = server_max_message_bytes()

        def factory() -> SMTP:
            # aiosmtpd loads with the first connection: an idle web process never pays for it.
            from aiosmtpd.smtp import SMTP

            return SMTP(
                handler,
                data_size_limit=limit,
                enable_SMTPUTF8=True,
                decode_data=False,
                hostname=self.hostname,
                ident="support-hub ESMTP",
                timeout=120,
                tls_context=self.tls_context,
                loop=loop,
            )

        self.server = await loop.create_server(factory, host=self.host, port=self.port, reuse_port=True)
        log.info("SMTP listener on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


_listener: SmtpListener | None = None


async def start_listener(host: str, port: int) -> SmtpListener:
    global _listener
    listener = SmtpListener(host, port)
    await listener.start()
    _listener = listener
    return listener


async def stop_listener() -> None:
    global _listener
    if _listener is not None:
        await _listener.stop()
        _listener = None
