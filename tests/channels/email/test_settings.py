"""Email inbox settings: validated when the inbox is saved (through the admin API), readable reasons."""

from __future__ import annotations

import msgspec
import pytest

from channels.email.settings import EmailCredentials, EmailSettings
from tests.factories import auth_headers, make_user


def test_defaults_and_normalisation():
    s = msgspec.convert({"address": " Support@Acme.TEST ", "aliases": ["Help@Acme.test"]}, EmailSettings)
    assert s.address == "support@acme.test" and s.aliases == ["help@acme.test"]
    assert s.domain == "acme.test" and s.smtp_tls == "none" and s.imap_host is None


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ({}, "address"),
        ({"address": "not-an-address"}, "plain mailbox"),
        ({"address": "support+x@acme.test"}, "plain mailbox"),
        ({"address": "a@b.test", "smtp_tls": "ssl3"}, "smtp_tls"),
        ({"address": "a@b.test", "smtp_port": 0}, "port"),
        ({"address": "a@b.test", "imap_poll_seconds": 0}, "imap_poll_seconds"),
        ({"address": "a@b.test", "colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_explained(raw, fragment):
    with pytest.raises(msgspec.ValidationError) as err:
        msgspec.convert(raw, EmailSettings)
    assert fragment in str(err.value)


def test_credentials_reject_unknown_keys():
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"password": "x"}, EmailCredentials)


async def test_inbox_saved_through_the_api_is_validated(client):
    admin = await make_user("admin")
    headers = await auth_headers(admin)
    bad = await client.post(
        "/api/v1/inboxes/",
        json={"name": "Mail", "channel": "email", "settings": {"address": "support+x@acme.test"}},
        headers=headers,
    )
    assert bad.status_code == 400 and "plain mailbox" in bad.text
    good = await client.post(
        "/api/v1/inboxes/",
        json={
            "name": "Mail",
            "channel": "email",
            "settings": {"address": "Desk-API@acme.test", "smtp_tls": "starttls", "smtp_port": 587},
            "credentials": {"smtp_password": "pw", "webhook_secret": "s"},
        },
        headers=headers,
    )
    assert good.status_code in (200, 201), good.text
    assert good.json()["settings"]["address"] == "desk-api@acme.test"
    assert "pw" not in good.text  # secrets never come back
