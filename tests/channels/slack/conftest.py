from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.channels.sms.support import Answer, ProviderDouble, start_worker, stop_worker


class SlackDouble(ProviderDouble):
    """The Slack Web API methods the hub calls: users.info, chat.postMessage, conversations.open."""

    def __init__(self) -> None:
        super().__init__()
        self.profiles: dict[str, dict[str, Any]] = {}
        self.uploads: dict[str, list[bytes]] = {}  # file id -> bodies posted to its upload URL
        self.upload_names: dict[str, str] = {}

    def args(self, record: dict[str, Any]) -> dict[str, Any]:
        return {**record["query"], **record.get("form", {}), **record.get("json", {})}

    def answer(self, record: dict[str, Any]) -> Answer:
        if record["method"] == "GET" and record["path"] in self.files:
            return super().answer(record)
        if record["path"].startswith("/upload/"):
            self.uploads.setdefault(record["path"].rsplit("/", 1)[-1], []).append(record["body"])
            return 200, f"OK - {len(record['body'])}".encode(), {"content-type": "text/plain"}
        if not record["headers"].get("authorization", "").startswith("Bearer xoxb-"):
            return 200, {"ok": False, "error": "not_authed"}, {}
        method = record["path"].rsplit("/", 1)[-1]
        args = self.args(record)
        if method == "users.info":
            user = self.profiles.get(args.get("user", ""))
            if user is None:
                return 200, {"ok": False, "error": "user_not_found"}, {}
            return 200, {"ok": True, "user": user}, {}
        if method == "chat.postMessage":
            ts = f"{time.time():.6f}"
            record["ts"] = ts
            return 200, {"ok": True, "channel": args["channel"], "ts": ts, "message": {"text": args.get("text")}}, {}
        if method == "files.getUploadURLExternal":
            file_id = "F" + secrets.token_hex(4).upper()
            self.upload_names[file_id] = args.get("filename", "")
            return 200, {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}, {}
        if method == "files.completeUploadExternal":
            files = json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files")
            return 200, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}, {}
        if method == "conversations.open":
            return 200, {"ok": True, "channel": {"id": "D" + secrets.token_hex(4).upper()}}, {}
        return 200, {"ok": False, "error": "unknown_method"}, {}

    def add_user(self, user_id: str, name: str, email: str | None = None) -> None:
        profile: dict[str, Any] = {"real_name": name, "display_name": name.split()[0]}
        if email:
            profile["email"] = email
        self.profiles[user_id] = {"id": user_id, "name": name.lower().replace(" ", "."), "profile": profile}

    def posts(self) -> list[dict[str, Any]]:
        return self.matching("/chat.postMessage")


@pytest.fixture
async def slack() -> AsyncIterator[SlackDouble]:
    double = SlackDouble()
    await double.start()
    yield double
    await double.stop()


@pytest.fixture(scope="module")
def outbound_worker(stack, tmp_path_factory) -> Iterator[None]:
    """A `hub worker` for the Redis stack while this module runs (so it never serves other areas' tests)."""
    proc = start_worker(stack, tmp_path_factory.mktemp("slack-worker"))
    yield
    stop_worker(proc)
