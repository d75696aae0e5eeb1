"""Signed conversation tokens in plus-addresses: support+c<conversation>.<sig>@acme.test.

Outbound mail carries one in Reply-To, so a customer's reply finds its conversation even when their mail
client dropped In-Reply-To and References. The signature (hub.crypto.sign, truncated, compared in constant
time) binds the token to the inbox, so nobody can steer mail into a conversation by guessing numbers;
ingest additionally requires the conversation to belong to the same contact.
"""

from __future__ import annotations

import hmac
import re

from hub.crypto import sign

PURPOSE = "email-reply-token"
SIG_LEN = 16
_TOKEN = re.compile(r"^c(\d{1,18})\.([0-9a-f]{" + str(SIG_LEN) + "})$")


def _signature(inbox_id: int, conversation_id: int) -> str:
    return sign(PURPOSE, f"{inbox_id}:{conversation_id}")[:SIG_LEN]


def reply_address(address: str, inbox_id: int, conversation_id: int) -> str:
    local, _, domain = address.partition("@")
    return f"{local}+c{conversation_id}.{_signature(inbox_id, conversation_id)}@{domain}"


def split_plus(address: str) -> tuple[str, str | None, str]:
    """'a+tag@d' -> ('a', 'tag', 'd'); no tag -> ('a', None, 'd'). Lower-cased."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    base, plus, tag = local.partition("+")
    return base, (tag if plus else None), domain


def conversation_from(recipients: list[str], address: str, inbox_id: int) -> int | None:
    """The conversation id from the first recipient that carries a valid token for this inbox."""
    base_local, _, base_domain = address.lower().partition("@")
    for rcpt in recipients:
        local, tag, domain = split_plus(rcpt)
        if tag is None or local != base_local or domain != base_domain:
            continue
        match = _TOKEN.match(tag)
        if match is None:
            continue
        conversation_id = int(match.group(1))
        if hmac.compare_digest(_signature(inbox_id, conversation_id), match.group(2)):
            return conversation_id
    return None
