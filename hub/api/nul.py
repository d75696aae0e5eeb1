"""Refuse NUL characters in API input up front.

PostgreSQL text cannot hold U+0000, so a JSON string like "a\\u0000b" would otherwise fail deep inside the
database as a server error; the caller gets a 400 that says what to remove instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request
from litestar.exceptions import ClientException

# An escaped NUL in JSON: "\u0000" preceded by an even number of backslashes (so not a literal "\\u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
MESSAGE = "Text may not contain NUL characters (\\u0000); remove them and send again."


async def refuse_nul(request: Request[Any, Any, Any]) -> None:
    if b"\x00" in unquote_to_bytes(request.scope.get("query_string", b"")):
        raise ClientException(MESSAGE)
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if b"\x00" in body or _JSON_NUL.search(body):
            raise ClientException(MESSAGE)
