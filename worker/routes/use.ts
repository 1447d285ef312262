import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { OPERATION_TABLE } from "../contract/operations";
import type { UseResponse } from "../contract/schemas/use";
import { callOperation } from "./define";

const useRequest = OPERATION_TABLE["use.request"];

/**
 * The credential proxy, hand-written: besides the JSON answer of the table's generic handler it
 * sets `x-vault-scrubbed`, so a client sees at once whether the value was removed from the answer.
 */
export const use = new Hono<AppEnv>().on(useRequest.method.toUpperCase(), useRequest.path, async (c) => {
  const value = (await callOperation(c, "use.request")) as UseResponse;
  c.header("x-vault-scrubbed", String(value.scrubbed));
  return c.json(value, useRequest.status);
});
