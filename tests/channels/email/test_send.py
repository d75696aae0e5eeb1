"""Outbound over real SMTP: headers that thread, TLS modes, error mapping, and the whole reply -> answer ->
bounce loop through the hub's dispatcher."""

from __future__ import annotations

import email
import email.policy
import secrets

import pytest
from aiosmtpd.controller import Controller

from channels.email import send as sender
from channels.email import tokens
from channels.email.receive import receive
from channels.email.settings import load_settings
from hub.db import session_scope
from hub.dispatch import deliver, queue_outbound
from hub.inbound import Identity
from hub.inboxes import get_inbox_config
from hub.models import Conversation, Message
from hub.outbound import DeliveryError, InboxConfig, OutboundAttachment, OutboundMessage
from tests.channels.email import samples
from tests.channels.email.conftest import CatchHandler, email_inbox
from tests.channels.email.tls import server_context
from tests.stacks import free_port


def _outbound(cfg: InboxConfig, **kw) -> OutboundMessage:
    base = dict(
        message_id=int(secrets.randbelow(10**6)),
        conversation_id=77,
        inbox=cfg,
        to=Identity("email", "ann@customer.test"),
        text="Hello Ann,\nwe fixed it.",
        html="<p>Hello Ann,<br>we <b>fixed</b> it.</p>",
        subject="Printer on fire",
        thread_refs=["root@customer.test", "hub.1.aa@acme.test", "sms-123-not-an-email"],
        attachments=[OutboundAttachment("report.pdf", "application/pdf", b"%PDF report")],
        author_name="Agent Smith",
    )
    base.update(kw)
    return OutboundMessage(**base)


def _cfg(port: int, **settings) -> InboxConfig:
    return InboxConfig(
        id=5,
        name="Acme",
        channel="email",
        public_token="t",
        settings={"address": "support@acme.test", "smtp_port": port, **settings},
        credentials={},
    )


def test_built_message_threads_and_has_alternatives(stack):
    cfg = _cfg(25)
    out = _outbound(cfg)
    msg, message_id = sender.build_message(out, load_settings(cfg.settings))
    assert msg["Message-ID"] == f"<{message_id}>" and message_id.endswith("@acme.test")
    assert sender.build_message(out, load_settings(cfg.settings))[1] == message_id  # stable across retries
    assert msg["In-Reply-To"] == "<hub.1.aa@acme.test>"
    assert msg["References"] == "<root@customer.test> <hub.1.aa@acme.test>"
    assert msg["Subject"] == "Re: Printer on fire"
    assert tokens.conversation_from([str(msg["Reply-To"])], "support@acme.test", 5) == 77
    assert "Agent Smith" in str(msg["From"]) and "support@acme.test" in str(msg["From"])
    body = msg.get_body(("plain",))
    assert body is not None and "we fixed it" in body.get_content()
    html = msg.get_body(("html",))
    assert html is not None and "<b>fixed</b>" in html.get_content()
    (att,) = list(msg.iter_attachments())
    assert att.get_filename() == "report.pdf" and att.get_content() == b"%PDF report"


def test_missing_recipient_is_final(stack):
    with pytest.raises(DeliveryError) as err:
        sender.build_message(_outbound(_cfg(25), to=Identity("email", "")), load_settings(_cfg(25).settings))
    assert err.value.retry is False


async def test_send_reaches_a_real_smtp_server(stack, smtp_catcher):
    controller, handler = smtp_catcher
    result = await sender.send(_outbound(_cfg(controller.port)))
    (caught,) = handler.messages
    assert caught.mail_from == "support@acme.test" and caught.rcpt_tos == ["ann@customer.test"]
    parsed = email.message_from_bytes(caught.data, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{result.provider_id}>"
    assert result.status == "sent"


@pytest.mark.parametrize(("reply", "retry"), [("451 4.7.1 try later", True), ("554 5.7.1 rejected as spam", False)])
async def test_smtp_errors_map_to_retry_or_fail(stack, smtp_catcher, reply, retry):
    controller, handler = smtp_catcher
    handler.reply = reply
    with pytest.raises(DeliveryError) as err:
        await sender.send(_outbound(_cfg(controller.port)))
    assert err.value.retry is retry and err.value.code == reply[:3]


async def test_refused_recipient_and_unreachable_server(stack):
    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 user unknown"

    refuse = Controller(Refuse(), hostname="127.0.0.1", port=free_port())
    refuse.start()
    try:
        with pytest.raises(DeliveryError) as err:
            await sender.send(_outbound(_cfg(refuse.port)))
        assert err.value.retry is False and "user unknown" in err.value.reason
    finally:
        refuse.stop()
    with pytest.raises(DeliveryError) as err:
        await sender.send(_outbound(_cfg(free_port(), smtp_timeout=5)))
    assert err.value.retry is True


@pytest.mark.parametrize("mode", ["starttls", "tls"])
async def test_tls_modes(stack, tmp_path, mode):
    handler = CatchHandler()
    ctx = server_context(tmp_path)
    port = free_port()
    if mode == "tls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=ctx)
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True)
    controller.start()
    try:
        cfg = _cfg(port, smtp_tls=mode, smtp_validate_certs=False)
        await sender.send(_outbound(cfg))
        assert len(handler.messages) == 1
        # With certificate checks on, a self-signed server is refused (and retried later, not lost).
        with pytest.raises(DeliveryError) as err:
            await sender.send(_outbound(_cfg(port, smtp_tls=mode, smtp_timeout=5)))
        assert err.value.retry is True
    finally:
        controller.stop()


async def test_smtp_auth_credentials_are_used(stack, tmp_path):
    seen: list[tuple[str, str]] = []

    def check(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        seen.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = CatchHandler()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(tmp_path),
        authenticator=check,
        auth_required=True,
    )
    controller.start()
    try:
        cfg = _cfg(port, smtp_tls="starttls", smtp_validate_certs=False, smtp_username="relay-user")
        cfg = InboxConfig(
            **{**{f: getattr(cfg, f) for f in cfg.__struct_fields__}, "credentials": {"smtp_password": "s3cret"}}
        )
        await sender.send(_outbound(cfg))
        assert seen[-1] == ("relay-user", "s3cret") and len(handler.messages) == 1
        bad = InboxConfig(
            **{**{f: getattr(cfg, f) for f in cfg.__struct_fields__}, "credentials": {"smtp_password": "no"}}
        )
        with pytest.raises(DeliveryError) as err:
            await sender.send(_outbound(bad))
        assert err.value.retry is False and err.value.code == "535"
    finally:
        controller.stop()


async def test_reply_answer_and_bounce_through_the_dispatcher(client, smtp_catcher):
    controller, handler = smtp_catcher
    inbox = await email_inbox({"smtp_port": controller.port, "smtp_host": "127.0.0.1"})
    cfg = await get_inbox_config(inbox.id)
    addr = cfg.settings["address"]
    customer = f"c-{secrets.token_hex(3)}@customer.test"
    first = await receive(cfg, samples.simple(sender=customer, to=addr, subject="Broken"), source="test")
    async with session_scope() as s:
        conv = await s.get(Conversation, first.conversation_id)
        reply = await queue_outbound(s, conv, text="Did you try turning it off?", html="<p>Did you try?</p>")
        reply_id = reply.id
    await deliver(reply_id)
    async with session_scope() as s:
        stored = await s.get(Message, reply_id)
        assert stored.status == "sent" and stored.provider_id
        sent_msgid = stored.provider_id
    caught = email.message_from_bytes(handler.messages[-1].data, policy=email.policy.default)
    assert caught["To"] == customer and caught["Message-ID"] == f"<{sent_msgid}>"
    assert caught["In-Reply-To"] == f"<{first.provider_id}>"
    assert caught["Subject"] == "Re: Broken"
    # The customer answers with proper headers: same conversation.
    answer = await receive(
        cfg,
        samples.gmail_reply(
            customer, addr, sent_msgid, [first.provider_id, sent_msgid], "Yes, twice.", samples.new_id()
        ),
        source="test",
    )
    assert answer.conversation_id == first.conversation_id
    # ... or with a client that drops them but keeps the Reply-To token.
    plain = await receive(
        cfg, samples.simple(sender=customer, to=str(caught["Reply-To"]), subject="no refs"), source="test"
    )
    assert plain.conversation_id == first.conversation_id
    # The mail bounces: the reply is marked failed with the reason.
    bounce = await receive(cfg, samples.dsn(sent_msgid, to=addr, recipient=customer), source="test")
    assert bounce.bounce_for == reply_id
    async with session_scope() as s:
        failed = await s.get(Message, reply_id)
        assert failed.status == "failed" and "5.1.1" in failed.error
