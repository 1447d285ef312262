import { z } from "zod";
import { AgentSchema } from "./leases";

const short = (max: number) => z.string().min(1).max(max);

/** HTTP methods a use policy may allow (CONNECT and TRACE never: neither has a place in an API call). */
export const UseMethodSchema = z.enum(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** A header name as RFC 9110 §5.1 defines a token. */
const HeaderNameSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name");

/**
 * An allowed upstream origin: `https://host[:port]` where host is an exact DNS name or `*.` plus a
 * name (the wildcard stands for one label or more). No path, query or user info. `http://` origins
 * are accepted by the schema but refused when the policy is set unless the deployment allows
 * insecure outbound URLs (tests and local development only; see worker/core/federation/outbound.ts).
 */
export const UseOriginSchema = z
  .string()
  .max(300)
  .regex(
    /^https?:\/\/(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]{1,5})?$/,
    "must be https://host[:port] in lower case, host an exact DNS name or *.name",
  );

/** How the value is put into the upstream request. */
export const InjectSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("header"),
    name: HeaderNameSchema,
    template: z
      .string()
      .max(256)
      .regex(/\{value\}/, "must contain {value}")
      .default("{value}"),
  }),
  /** HTTP basic authentication (RFC 7617): the value is the password. */
  z.strictObject({
    type: z.literal("basic"),
    username: z
      .string()
      .max(256)
      .regex(/^[^:\r\n]*$/, "must not contain ':' or a line break"),
  }),
  z.strictObject({ type: z.literal("query"), name: short(128).regex(/^[\x21-\x7e]+$/, "must be printable ASCII") }),
]);

/**
 * Upper bound of max_request_bytes. The API's own 512 KB limit on a JSON request body applies
 * first (413), so a proxied body is at most about 380 KB base64-encoded, 500 KB as text.
 */
export const MAX_USE_REQUEST_BYTES = 1024 * 1024;
/**
 * Upper bound of max_response_bytes: the answer is buffered in the tenant's Durable Object to be
 * scrubbed (a few copies of it while it is), and the object has 128 MB for every call in flight.
 */
export const MAX_USE_RESPONSE_BYTES = 10 * 1024 * 1024;

/** PUT /v1/credentials/{ref}/use body and GET answer: where and how the credential may be used. */
export const UsePolicySchema = z.strictObject({
  origins: z.array(UseOriginSchema).min(1, "name at least one origin").max(20),
  methods: z.array(UseMethodSchema).min(1).max(7).default(["GET", "POST"]),
  path_prefixes: z
    .array(
      z
        .string()
        .min(1)
        .max(256)
        .regex(/^\/[\x21-\x7e]*$/, "must start with / and be printable ASCII"),
    )
    .min(1)
    .max(20)
    .default(["/"]),
  inject: InjectSchema,
  max_request_bytes: z.number().int().min(0).max(MAX_USE_REQUEST_BYTES).default(MAX_USE_REQUEST_BYTES),
  max_response_bytes: z.number().int().min(1).max(MAX_USE_RESPONSE_BYTES).default(MAX_USE_RESPONSE_BYTES),
  timeout_ms: z.number().int().min(100).max(60_000).default(30_000),
});

/** POST /v1/credentials/{ref}/use body: the upstream request to make with the credential. */
export const UseRequestSchema = z
  .strictObject({
    method: UseMethodSchema,
    url: z.string().min(1).max(4096),
    // At most 64 headers: each becomes a header of the outbound fetch the object makes.
    headers: z
      .record(
        HeaderNameSchema,
        z
          .string()
          .max(8192)
          .regex(/^[^\r\n\0]*$/, "must not contain a line break"),
      )
      .refine((h) => Object.keys(h).length <= 64, "at most 64 headers")
      .default({}),
    body: z.string().optional(),
    body_base64: z.base64().optional(),
    purpose: short(256).optional(),
    agent: AgentSchema.optional(),
  })
  .refine((r) => r.body === undefined || r.body_base64 === undefined, {
    message: "send body or body_base64, not both",
  });

/** POST /v1/credentials/{ref}/use answer: the upstream response, with the value scrubbed out. */
export const UseResponseSchema = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body_base64: z.string(),
  /** True when the value (or one of its encodings) was found in the response and replaced. */
  scrubbed: z.boolean(),
  upstream_ms: z.number().int(),
});

export type UsePolicy = z.output<typeof UsePolicySchema>;
export type UseRequest = z.output<typeof UseRequestSchema>;
export type UseResponse = z.output<typeof UseResponseSchema>;
export type Inject = z.output<typeof InjectSchema>;
