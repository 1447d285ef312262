import { z } from "zod";
import { EmulatorConfigError, loadEmulatorConfig, type EmulatorConfig, type EmulatorEnv } from "./config";
import { handleControl, recordCall, takeFault } from "./control";
import { awsErrorResponse, awsJson, KmsApiError } from "./errors";
import { OPERATIONS, runOperation, type Operation } from "./operations";
import { verifySignature } from "./sigv4";

/**
 * Development KMS: a Worker speaking the AWS KMS JSON 1.1 protocol (Encrypt, Decrypt,
 * GenerateDataKey, ReEncrypt, DescribeKey) with one symmetric key (and an optional second, to
 * rehearse a move of the vault to another key id), so the vault runs its real
 * `aws` provider code in development and tests and never holds a root key itself
 * (DESIGN.md "KMS providers"). Never deploy it: the root key sits in its bindings.
 */

export type { EmulatorEnv } from "./config";

/** KMS requests are small; anything bigger is not a KMS request. */
const MAX_BODY_BYTES = 64 * 1024;

const TenantScope = z
  .object({
    EncryptionContext: z.object({ tenant_id: z.string() }).partial().optional(),
    SourceEncryptionContext: z.object({ tenant_id: z.string() }).partial().optional(),
    DestinationEncryptionContext: z.object({ tenant_id: z.string() }).partial().optional(),
  })
  .partial();

export default {
  /** Routes `/__control/*` to the test controls and everything else to the KMS API. */
  async fetch(request: Request, env: EmulatorEnv): Promise<Response> {
    let config: EmulatorConfig;
    try {
      config = await loadEmulatorConfig(env);
    } catch (error) {
      const message = error instanceof EmulatorConfigError ? error.message : "KMS emulator failed to start";
      console.error(message);
      return awsErrorResponse(new KmsApiError("KMSInternalException", message));
    }
    if (new URL(request.url).pathname.startsWith("/__control/")) return handleControl(request, config.secretAccessKey);
    try {
      return await handleKms(request, config);
    } catch (error) {
      if (error instanceof KmsApiError) return awsErrorResponse(error);
      console.error("KMS emulator internal error", error);
      return awsErrorResponse(new KmsApiError("KMSInternalException", "internal error"));
    }
  },
} satisfies ExportedHandler<EmulatorEnv>;

async function handleKms(request: Request, config: EmulatorConfig): Promise<Response> {
  if (request.method !== "POST") {
    return new Response(JSON.stringify({ __type: "MethodNotAllowed", message: "the KMS API takes POST only" }), {
      status: 405,
      headers: { allow: "POST", "content-type": "application/x-amz-json-1.1" },
    });
  }
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > MAX_BODY_BYTES) throw new KmsApiError("ValidationException", "request body too large");
  const body = await request.arrayBuffer();
  if (body.byteLength > MAX_BODY_BYTES) throw new KmsApiError("ValidationException", "request body too large");

  // Authenticate before anything else, so an unsigned caller learns nothing about the API.
  const { region } = await verifySignature(request, body, config, Date.now());

  const op = operationOf(request.headers.get("x-amz-target"));
  if (!request.headers.get("content-type")?.startsWith("application/x-amz-json-1.1")) {
    throw new KmsApiError("SerializationException", "Content-Type must be application/x-amz-json-1.1");
  }
  let input: unknown;
  try {
    input = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body));
  } catch {
    throw new KmsApiError("SerializationException", "request body is not JSON");
  }

  const tenantId = tenantOf(input);
  recordCall(tenantId, op);
  const fault = takeFault(tenantId);
  if (fault?.mode === "delay") await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
  if (fault?.mode === "error") throw new KmsApiError("KMSInternalException", "injected fault: internal failure");
  if (fault?.mode === "throttle") throw new KmsApiError("ThrottlingException", "injected fault: rate exceeded");
  if (fault?.mode === "garbage") {
    return new Response("<html><body>502 Bad Gateway (injected)</body></html>", {
      status: 200,
      headers: { "content-type": "text/html" },
    });
  }
  return awsJson(await runOperation(op, input, { config, region }));
}

/** `TrentService.<Operation>`, the JSON 1.1 protocol's way of naming the call. */
function operationOf(target: string | null): Operation {
  const name = target?.startsWith("TrentService.") ? target.slice("TrentService.".length) : undefined;
  const op = OPERATIONS.find((o) => o === name);
  if (!op) throw new KmsApiError("UnknownOperationException", "Unknown or missing X-Amz-Target operation.");
  return op;
}

/** The tenant a request concerns, for fault scoping and stats: from whichever context carries it. */
function tenantOf(input: unknown): string | null {
  const parsed = TenantScope.safeParse(input);
  if (!parsed.success) return null;
  const { EncryptionContext: e, SourceEncryptionContext: s, DestinationEncryptionContext: d } = parsed.data;
  return e?.tenant_id ?? s?.tenant_id ?? d?.tenant_id ?? null;
}
