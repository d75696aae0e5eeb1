"""`/api/v1/tokens`: personal API tokens, shown once when created; revocable by their owner or an admin."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import Body

from hub.api.params import id_param, principal
from hub.auth.guards import requires_agent
from hub.services import tokens as svc

TokenId = Annotated[int, id_param("token")]


class TokenController(Controller):
    path = "/tokens"
    tags = ["tokens"]
    guards = [requires_agent]

    @post("/", summary="Create a token for yourself")
    async def create_token(
        self, request: Request[Any, Any, Any], data: Annotated[svc.TokenCreate, Body(title="Token")]
    ) -> svc.NewTokenOut:
        """The answer holds the token; it is not stored and cannot be shown again."""
        return await svc.create_token(principal(request), data)

    @get("/", summary="List your tokens")
    async def list_tokens(self, request: Request[Any, Any, Any]) -> list[svc.TokenOut]:
        return await svc.list_tokens(principal(request))

    @delete("/{token_id:int}", summary="Revoke a token", status_code=200)
    async def revoke_token(self, request: Request[Any, Any, Any], token_id: TokenId) -> svc.TokenOut:
        """Your own tokens; admins may revoke anyone's."""
        return await svc.revoke_token(principal(request), token_id)
