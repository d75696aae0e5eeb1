"""SMS and Slack inboxes created through the admin API: settings checked and normalised by the channel."""

from __future__ import annotations

from tests.factories import auth_headers, make_user, unique


async def test_sms_and_slack_inbox_settings_are_validated_on_save(client):
    headers = await auth_headers(await make_user("admin"))

    async def create(channel: str, settings: dict, credentials: dict):
        body = {"name": unique(channel), "channel": channel, "settings": settings, "credentials": credentials}
        return await client.post("/api/v1/inboxes", json=body, headers=headers)

    creds = {"account_sid": "AC1", "auth_token": "t"}
    bad = await create("sms", {"phone_number": "not a number"}, creds)
    assert bad.status_code in (400, 422) and "phone_number" in bad.text
    assert (await create("sms", {"phone_number": "+14155550100", "colour": "red"}, creds)).status_code in (400, 422)
    assert (await create("sms", {"phone_number": "+14155550100"}, {"account_sid": "AC1"})).status_code in (400, 422)
    ok = await create("sms", {"phone_number": "(415) 555-0100", "api_host": "https://api.twilio.example/"}, creds)
    assert ok.status_code == 201, ok.text
    assert ok.json()["settings"]["phone_number"] == "+14155550100"
    assert ok.json()["settings"]["api_host"] == "https://api.twilio.example"

    slack_creds = {"bot_token": "xoxb-1", "signing_secret": "s"}
    assert (await create("slack", {"api_host": "slack-gov.com"}, slack_creds)).status_code in (400, 422)
    gov = await create("slack", {"api_host": "https://slack-gov.com/api"}, slack_creds)
    assert gov.status_code == 201, gov.text
    assert gov.json()["settings"]["api_host"] == "https://slack-gov.com/api/"
