import { z } from "zod";
import { SetTeamSchema, TeamListSchema, TeamNameSchema, TeamSchema } from "../schemas/teams";
import type { OperationTable } from "./spec";

const ByName = z.object({ name: TeamNameSchema });
const tag = "teams";

/** Teams: named sets of identity globs, usable as `team:<name>` in ACL rules. */
export const teamOperations = {
  "teams.list": {
    role: "manager",
    method: "get",
    path: "/v1/teams",
    tag,
    summary: "List teams and their member globs",
    response: TeamListSchema,
    status: 200,
  },
  "teams.set": {
    role: "admin",
    method: "put",
    path: "/v1/teams/:name",
    tag,
    summary: "Create or replace a team (audited with members before and after)",
    params: ByName,
    body: SetTeamSchema,
    response: TeamSchema,
    status: 200,
  },
  "teams.delete": {
    role: "admin",
    method: "delete",
    path: "/v1/teams/:name",
    tag,
    summary: "Delete a team: ACL rules naming it then match nobody",
    params: ByName,
    response: null,
    status: 204,
  },
} satisfies OperationTable;
