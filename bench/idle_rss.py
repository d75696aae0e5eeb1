"""RSS of one idle web process on the embedded defaults, after start-up and a few requests.

.venv/bin/python -m bench.idle_rss
"""

from __future__ import annotations

import time

import httpx

from bench.servers import server, stack


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    with stack("sqlite") as st, server(st) as srv:
        assert st is not None
        for path in ("/health", "/login", "/help", "/widget.js", "/schema/openapi.json"):
            httpx.get(srv.url + path, timeout=30)
        time.sleep(2)
        print(f"idle web process RSS: {rss_mb(srv.proc.pid):.1f} MB (target <= 120 MB)")


if __name__ == "__main__":
    main()
