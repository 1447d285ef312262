import { adminRoutes } from "./admin";
import { auditExtraRoutes, auditRoutes } from "./audit";
import { leaseRoutes } from "./leases";
import { ciRoutes, federationRoutes } from "./federation";
import { credentialRoutes } from "./credentials";
import type { RouteDef, VaultRoute } from "./define";
import { systemRoutes } from "./system";
import { tokenRoutes } from "./tokens";

/** Every authenticated route, in the order they are mounted. Tests walk this list. */
export const VAULT_ROUTES: readonly VaultRoute[] = [...tokenRoutes, ...credentialRoutes, ...leaseRoutes, ...auditRoutes, ...federationRoutes, ...adminRoutes];

/** Every route, public ones included: the OpenAPI document describes these. */
export const ALL_ROUTES: readonly RouteDef[] = [...systemRoutes, ...VAULT_ROUTES, ...auditExtraRoutes, ...ciRoutes];
