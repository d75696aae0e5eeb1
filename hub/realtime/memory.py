"""In-process transport: publishing is local dispatch. The embedded default, one web process."""

from __future__ import annotations

from collections.abc import Callable


class MemoryTransport:
    def __init__(self) -> None:
        self._on_message: Callable[[str, bytes], None] | None = None

    async def start(self, on_message: Callable[[str, bytes], None]) -> None:
        self._on_message = on_message

    async def stop(self) -> None:
        self._on_message = None

    async def publish(self, topic: str, payload: bytes) -> None:
        if self._on_message is not None:
            self._on_message(topic, payload)

    async def watch(self, topic: str) -> None:
        return None

    async def unwatch(self, topic: str) -> None:
        return None
