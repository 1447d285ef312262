import { z } from "zod";

import { SetTeamSchema, TeamListSchema, TeamNameSchema, TeamSchema } from "../contract/schemas/teams";
import { vaultRouter, type VaultRoute } from "./define";

const ByName = z.object({ name: TeamNameSchema });
const tag = "teams";

/** Teams: named sets of identity globs, usable as `team:<name>` in ACL rules. */
export const teamRoutes: VaultRoute[] = [
  {
    method: "get", path: "/v1/teams", tag, summary: "List teams and their member globs",
    operation: "teams.list", response: TeamListSchema, status: 200,
    rpc: (v, call) => v.listTeams(call),
  },
  {
    method: "put", path: "/v1/teams/:name", tag, summary: "Create or replace a team (audited with members before and after)",
    operation: "teams.set", params: ByName, body: SetTeamSchema, response: TeamSchema, status: 200,
    rpc: (v, call) => v.setTeam(call),
  },
  {
    method: "delete", path: "/v1/teams/:name", tag, summary: "Delete a team: ACL rules naming it then match nobody",
    operation: "teams.delete", params: ByName, response: null, status: 204,
    rpc: (v, call) => v.deleteTeam(call),
  },
];

/** The teams router. */
export const teams = vaultRouter(teamRoutes);
