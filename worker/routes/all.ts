import { accessRequestRoutes } from "./access-requests";
import { adminRoutes } from "./admin";
import { auditExtraRoutes, auditRoutes } from "./audit";
import { leaseRoutes } from "./leases";
import { ciRoutes, federationRoutes } from "./federation";
import { credentialRoutes } from "./credentials";
import type { RouteDef, VaultRoute } from "./define";
import { systemRoutes } from "./system";
import { tokenRoutes } from "./tokens";
import { teamRoutes } from "./teams";
import { useRoutes } from "./use";

/** Every authenticated JSON route (served by vaultRouter), in mount order. The streamed audit export is in ALL_ROUTES. */
export const VAULT_ROUTES: readonly VaultRoute[] = [...tokenRoutes, ...credentialRoutes, ...leaseRoutes, ...accessRequestRoutes, ...useRoutes, ...teamRoutes, ...auditRoutes, ...federationRoutes, ...adminRoutes];

/** Every route, public ones included: the OpenAPI document describes these. */
export const ALL_ROUTES: readonly RouteDef[] = [...systemRoutes, ...VAULT_ROUTES, ...auditExtraRoutes, ...ciRoutes];
