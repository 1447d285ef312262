import type { Role } from "../roles";
import { accessRequestOperations } from "./access-requests";
import { adminOperations } from "./admin";
import { auditOperations } from "./audit";
import { credentialOperations } from "./credentials";
import { federationOperations } from "./federation";
import { leaseOperations } from "./leases";
import type { OperationInput, OperationSpec } from "./spec";
import { systemOperations } from "./system";
import { teamOperations } from "./teams";
import { tokenOperations } from "./tokens";
import { useOperations } from "./use";

export {
  bodyErrorOf,
  parseOperationInput,
  type BodyError,
  type OperationInput,
  type OperationSpec,
  type RawInput,
} from "./spec";

/**
 * Every operation of the API, declared once (docs/architecture.md "Adding an operation"). The
 * Worker's routes, the Durable Object's dispatch and least roles, the OpenAPI document, the SDK's
 * paths and the route suites are all derived from this table. Order is mount order.
 */
export const OPERATION_TABLE = {
  ...systemOperations,
  ...tokenOperations,
  ...credentialOperations,
  ...leaseOperations,
  ...accessRequestOperations,
  ...useOperations,
  ...teamOperations,
  ...auditOperations,
  ...federationOperations,
  ...adminOperations,
};

type Table = typeof OPERATION_TABLE;

/** The name of any operation, public ones included. */
export type OperationName = keyof Table;

/** The name of an authenticated operation: one with a least role, served through the tenant's vault. */
export type Operation = { [K in OperationName]: Table[K]["role"] extends Role ? K : never }[OperationName];

/** The spec of operation `K`. */
export type SpecOf<K extends OperationName> = Table[K];

/** The parsed input an operation's handler receives. */
export type InputOf<K extends OperationName> = OperationInput<Table[K]>;

/** An operation with its name, as the route walkers (OpenAPI, test suites) see it. */
export interface RouteDef extends OperationSpec {
  name: OperationName;
  /** The authenticated operation, or null for a public route. */
  operation: Operation | null;
}

/** Every operation as a route, in mount order. */
export const ALL_ROUTES: readonly RouteDef[] = Object.entries(OPERATION_TABLE).map(
  ([name, spec]: [string, OperationSpec]) => ({
    ...spec,
    name: name as OperationName,
    operation: spec.role === null ? null : (name as Operation),
  }),
);

/** Every authenticated operation's route. */
export const AUTH_ROUTES: readonly (RouteDef & { operation: Operation; role: Role })[] = ALL_ROUTES.filter(
  (r): r is RouteDef & { operation: Operation; role: Role } => r.operation !== null,
);

/** Every authenticated operation and the least role that may perform it. */
export const OPERATIONS = Object.fromEntries(AUTH_ROUTES.map((r) => [r.operation, r.role])) as {
  readonly [K in Operation]: Role;
};

/** True when `name` is an authenticated operation (an RPC caller's string is checked with this). */
export function isOperation(name: unknown): name is Operation {
  return typeof name === "string" && Object.hasOwn(OPERATIONS, name);
}
