import type { z } from "zod";
import type { SetTeamSchema, Team } from "../worker/contract/schemas/teams";
import type { CallOptions, HttpClient } from "./http";

/** What `teams.set` takes: the member identity globs (at most 200). */
export type SetTeam = z.input<typeof SetTeamSchema>;

/** Teams (managers list, admins change): named sets of identity globs, usable as `team:<name>` in ACL rules. */
export class TeamsApi {
  readonly #http: HttpClient;

  /** Used by {@link VaultClient}; not meant to be built directly. */
  constructor(http: HttpClient) {
    this.#http = http;
  }

  /** Every team and its member globs. */
  list(options: CallOptions = {}): Promise<{ items: Team[] }> {
    return this.#http.op("teams.list", {}, options);
  }

  /** Creates or replaces a team. */
  set(name: string, team: SetTeam, options: CallOptions = {}): Promise<Team> {
    return this.#http.op("teams.set", { params: { name }, body: team }, options);
  }

  /** Deletes a team: ACL rules naming it then match nobody. */
  delete(name: string, options: CallOptions = {}): Promise<void> {
    return this.#http.op("teams.delete", { params: { name } }, options);
  }
}
