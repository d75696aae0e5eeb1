"""Liveness for load balancers and the tests' wait-for-server loop."""

from __future__ import annotations

from litestar import get


@get("/health", opt={"public": True}, include_in_schema=False, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}
