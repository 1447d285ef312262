import { DurableObject } from "cloudflare:workers";

/** The single authority for one tenant. (Skeleton: filled in by the core vault work.) */
export class TenantVault extends DurableObject<Env> {
  async ping(): Promise<string> {
    return "pong";
  }
}
