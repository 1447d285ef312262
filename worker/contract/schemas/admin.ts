import { z } from "zod";
import { TimestampSchema } from "./common";

/** One tenant KEK version. */
export const KekVersionSchema = z.object({
  version: z.number().int(),
  state: z.enum(["active", "decrypt_only", "destroyed"]),
  created_at: TimestampSchema,
  destroyed_at: TimestampSchema.nullable(),
  wrapped_deks: z.number().int(),
});

/** GET /v1/admin/kek */
export const KekStatusSchema = z.object({
  active_version: z.number().int(),
  versions: z.array(KekVersionSchema),
  sweep: z.object({ running: z.boolean(), target_version: z.number().int().nullable(), rewrapped: z.number().int() }),
});

/** POST /v1/admin/kek/rotate */
export const KekRotateResultSchema = z.object({ active_version: z.number().int(), previous_version: z.number().int() });

export type KekStatus = z.output<typeof KekStatusSchema>;
export type KekRotateResult = z.output<typeof KekRotateResultSchema>;
