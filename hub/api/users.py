"""`/api/v1/users`: everyone may list colleagues; admins create, change and deactivate accounts."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Body, Parameter

from hub.api.params import id_param, principal
from hub.auth.guards import requires_admin, requires_agent
from hub.services import users as svc

UserId = Annotated[int, id_param("user")]


class UserController(Controller):
    path = "/users"
    tags = ["users"]
    guards = [requires_agent]

    @get("/", summary="List users")
    async def list_users(
        self,
        include_inactive: Annotated[bool, Parameter(description="Also list deactivated accounts.")] = False,
    ) -> list[svc.UserOut]:
        return await svc.list_users(include_inactive=include_inactive)

    @get("/{user_id:int}", summary="Read a user")
    async def get_user(self, user_id: UserId) -> svc.UserOut:
        return await svc.get_user(user_id)

    @post("/", summary="Create a user", guards=[requires_admin])
    async def create_user(self, data: Annotated[svc.UserCreate, Body(title="User")]) -> svc.UserOut:
        return await svc.create_user(data)

    @patch("/{user_id:int}", summary="Change a user", guards=[requires_admin])
    async def update_user(
        self, request: Request[Any, Any, Any], user_id: UserId, data: Annotated[svc.UserPatch, Body(title="Changes")]
    ) -> svc.UserOut:
        return await svc.update_user(principal(request), user_id, data)

    @delete("/{user_id:int}", summary="Deactivate a user", guards=[requires_admin], status_code=200)
    async def deactivate_user(self, request: Request[Any, Any, Any], user_id: UserId) -> svc.UserOut:
        """Users are never erased (their names stay on timelines); they can no longer sign in."""
        return await svc.deactivate_user(principal(request), user_id)
