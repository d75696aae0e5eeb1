"""`/api/v1/teams`: everyone may list teams; managers and admins maintain them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post, put
from litestar.params import Body

from hub.api.params import id_param
from hub.auth.guards import requires_agent, requires_manager
from hub.services import teams as svc

TeamId = Annotated[int, id_param("team")]


class TeamController(Controller):
    path = "/teams"
    tags = ["teams"]
    guards = [requires_agent]

    @get("/", summary="List teams")
    async def list_teams(self) -> list[svc.TeamOut]:
        return await svc.list_teams()

    @get("/{team_id:int}", summary="Read a team")
    async def get_team(self, team_id: TeamId) -> svc.TeamOut:
        return await svc.get_team(team_id)

    @post("/", summary="Create a team", guards=[requires_manager])
    async def create_team(self, data: Annotated[svc.TeamCreate, Body(title="Team")]) -> svc.TeamOut:
        return await svc.create_team(data)

    @patch("/{team_id:int}", summary="Rename or describe a team", guards=[requires_manager])
    async def update_team(self, team_id: TeamId, data: Annotated[svc.TeamPatch, Body(title="Changes")]) -> svc.TeamOut:
        return await svc.update_team(team_id, data)

    @delete("/{team_id:int}", summary="Delete a team", guards=[requires_manager])
    async def delete_team(self, team_id: TeamId) -> None:
        await svc.delete_team(team_id)

    @put("/{team_id:int}/members", summary="Set a team's members", guards=[requires_manager])
    async def set_members(
        self, team_id: TeamId, data: Annotated[svc.TeamMembersIn, Body(title="Members")]
    ) -> svc.TeamOut:
        return await svc.set_members(team_id, data)
