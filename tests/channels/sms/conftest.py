from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.channels.sms.support import Answer, ProviderDouble, start_worker, stop_worker


class TwilioDouble(ProviderDouble):
    """The part of Twilio's REST API the hub uses: create a message."""

    def answer(self, record: dict[str, Any]) -> Answer:
        if record["method"] == "POST" and record["path"].endswith("/Messages.json"):
            form = record.get("form", {})
            sid = "SM" + secrets.token_hex(16)
            record["sid"] = sid
            return (
                201,
                {
                    "sid": sid,
                    "account_sid": record["path"].split("/")[3],
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                },
                {},
            )
        if record["method"] == "GET" and record["path"] in self.files:
            return super().answer(record)
        return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}, {}

    def sent(self) -> list[dict[str, Any]]:
        return self.matching("/Messages.json")


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioDouble]:
    double = TwilioDouble()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture(scope="module")
def outbound_worker(stack, tmp_path_factory) -> Iterator[None]:
    """A `hub worker` for the Redis stack while this module runs (so it never serves other areas' tests)."""
    proc = start_worker(stack, tmp_path_factory.mktemp("sms-worker"))
    yield
    stop_worker(proc)
