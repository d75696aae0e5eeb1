"""The `hub` command on a fresh data directory: settings errors, migrate, createuser, serve with a demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from websockets.sync.client import connect

from hub.settings import SettingsError, load_settings
from tests.stacks import free_port


def test_settings_errors_are_readable():
    with pytest.raises(SettingsError, match="HUB_PORT"):
        load_settings({"HUB_PORT": "99999", "SECRET_KEY": "x" * 40}, dotenv=False)
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings({"DATABASE_URL": "mysql://x/y", "SECRET_KEY": "x" * 40}, dotenv=False)
    with pytest.raises(SettingsError, match="Invalid setting"):
        load_settings({"HUB_PORT": "eighty", "SECRET_KEY": "x" * 40}, dotenv=False)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({"SECRET_KEY": "short"}, dotenv=False)
    s = load_settings({"DATABASE_URL": "postgres://u@h/db", "SECRET_KEY": "x" * 40}, dotenv=False)
    assert s.effective_database_url == "postgresql+asyncpg://u@h/db"


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_") and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "HUB_DATA_DIR": str(tmp_path / "var"), "HUB_SMTP_ENABLED": "false", **extra}


def _hub(tmp_path, *args, **extra) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub.cli", *args],
        cwd=tmp_path,
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_and_createuser(tmp_path):
    assert _hub(tmp_path, "migrate").returncode == 0
    out = _hub(tmp_path, "createuser", "Boss@Example.com", "--role", "admin", "--password", "s3cret-pass")
    assert out.returncode == 0, out.stderr
    assert "Created admin boss@example.com" in out.stdout
    again = _hub(tmp_path, "createuser", "boss@example.com")
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = _hub(tmp_path, "createuser", "x@example.com", "--role", "king")
    assert bad.returncode == 2 and "Unknown role" in bad.stderr
    broken = _hub(tmp_path, "migrate", HUB_PORT="nope")
    assert broken.returncode == 2 and "Configuration error" in broken.stderr


def test_serve_on_a_fresh_directory_seeds_a_demo_and_serves(tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=fh,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(log.read_text())
        output = log.read_text()
        assert "Demo admin login: admin@demo.example / " in output
        password = output.split("admin@demo.example / ", 1)[1].split()[0]
        assert (tmp_path / "var" / "hub.sqlite3").exists()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            resp = http.post("/api/v1/auth/login", json={"email": "admin@demo.example", "password": password})
            assert resp.status_code == 200
            convs = http.get("/api/v1/conversations").json()["items"]
            assert len(convs) >= 3
        # The client offers permessage-deflate, as browsers do; the hub declines it (small JSON frames), and
        # the widget socket answers a bad token with a reason.
        with connect(f"ws://127.0.0.1:{port}/ws/widget?token=nope") as ws:
            assert ws.protocol.extensions == []
            assert json.loads(ws.recv())["code"] == "bad_token"
    finally:
        proc.terminate()
        proc.wait(15)
