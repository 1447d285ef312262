import type { Config } from "./contract/config";

/** The Hono environment of the Worker: generated bindings plus per-request variables. */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** Random id of this request, echoed in `x-request-id` and every error body. */
    requestId: string;
    config: Config;
  };
};
