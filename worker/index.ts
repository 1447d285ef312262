import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./app-env";
import { VaultError } from "./contract/errors";
import { basics } from "./middleware/basics";
import { notFound, onError } from "./middleware/on-error";
import { rateLimit } from "./middleware/rate-limit";
import { ALL_ROUTES } from "./contract/operations";
import { audit } from "./routes/audit";
import { bench } from "./routes/bench";
import { operationRouter } from "./routes/define";
import { federation } from "./routes/federation";
import { dashboard } from "./dashboard/index";
import { openApiRouter } from "./routes/openapi";
import { OPERATOR_ROUTES, operator } from "./routes/operator";
import { system } from "./routes/system";
import { use } from "./routes/use";

/** Largest request body: a 64 KiB value JSON-escaped at worst (\uXXXX) plus the rest. */
const MAX_BODY_BYTES = 512 * 1024;

const limit = rateLimit((env) => ({ token: env.TOKEN_RATE_LIMITER, ip: env.IP_RATE_LIMITER, periodSeconds: 60 }));

const app = new Hono<AppEnv>();
app.use(basics);
app.use(
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new VaultError("payload_too_large", `request body must be at most ${MAX_BODY_BYTES} bytes`);
    },
  }),
);
app.use("/v1/*", async (c, next) => {
  const path = new URL(c.req.url).pathname;
  // Health and readiness stay reachable for load balancers whatever the load.
  if (path === "/v1/health" || path === "/v1/ready" || c.get("config").RATE_LIMITS === "off") return next();
  return limit(c, next);
});
app.route("/", system);
// Every authenticated operation of the table (worker/contract/operations), then the hand-written ones.
app.route("/", operationRouter());
app.route("/", use);
app.route("/", audit);
app.route("/", federation);
app.route("/", bench);
app.route("/", operator);
app.route("/", openApiRouter(ALL_ROUTES, OPERATOR_ROUTES));
// The web console: HTML pages with their own error pages and headers (worker/dashboard).
app.route("/ui", dashboard);
app.onError(onError);
app.notFound(notFound);

export default app;
export { TenantVault } from "../durable-objects/tenant-vault";
export { OperatorPlane } from "../durable-objects/operator/operator-plane";
