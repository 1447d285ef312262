import { z } from "zod";
import { base64ToBytes, bytesToBase64, bytesToHex, decodeOrNull } from "../../worker/core/crypto/encoding";
import { crc32c } from "../../worker/core/kms/crc32c";
import { contextAad, openBlob, sealBlob } from "../kms/blob";
import { IssuedTokens, faultResponse, handleControl, recordCall, takeFault } from "../kms/control";
import { loadGcpEmulatorConfig, type GcpEmulatorConfig, type GcpEmulatorEnv } from "./config";
import { handleToken } from "./oauth";

/**
 * Development Cloud KMS: a Worker speaking the Cloud KMS REST API (`cryptoKeys.encrypt`,
 * `cryptoKeys.decrypt`) for one symmetric key (optionally a second, SECOND_KEY_NAME, to test a
 * move to another key name), and Google's OAuth token endpoint (`POST /token`)
 * for one service account, so the vault runs its real `gcp` provider code in development and
 * tests. KMS calls need a token this emulator issued. Never deploy it: the root key sits in its
 * bindings. Test controls (faults, stats) are dev/kms/control.ts, scoped by the tenant_id in the
 * AAD the vault sends.
 */

export type { GcpEmulatorEnv } from "./config";

const MAX_BODY_BYTES = 256 * 1024;
/** Cloud KMS limit for SOFTWARE keys: 64 KiB of plaintext and of AAD. */
const MAX_FIELD_BYTES = 64 * 1024;
const tokens = new IssuedTokens();

const Crc = z
  .union([z.string().regex(/^\d{1,10}$/), z.number().int().nonnegative()])
  .transform(Number)
  .optional();
const Bytes = (required: boolean) =>
  z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (text === undefined || text === "") {
        if (required) ctx.addIssue({ code: "custom", message: "is required" });
        return new Uint8Array();
      }
      const bytes = decodeOrNull(base64ToBytes, text);
      if (bytes === null || bytes.length > MAX_FIELD_BYTES) {
        ctx.addIssue({ code: "custom", message: "must be base64 of at most 64 KiB" });
        return z.NEVER;
      }
      return bytes;
    });
const EncryptInput = z.object({
  plaintext: Bytes(true),
  additionalAuthenticatedData: Bytes(false),
  plaintextCrc32c: Crc,
  additionalAuthenticatedDataCrc32c: Crc,
});
const DecryptInput = z.object({
  ciphertext: Bytes(true),
  additionalAuthenticatedData: Bytes(false),
  ciphertextCrc32c: Crc,
  additionalAuthenticatedDataCrc32c: Crc,
});

/** A google.rpc.Status error as the REST API sends it. */
function rpcError(code: number, status: string, message: string): Response {
  return Response.json({ error: { code, message, status } }, { status: code });
}

export default {
  async fetch(request: Request, env: GcpEmulatorEnv): Promise<Response> {
    let config: GcpEmulatorConfig;
    try {
      config = await loadGcpEmulatorConfig(env);
    } catch (error) {
      console.error(String(error));
      return rpcError(500, "INTERNAL", "Cloud KMS emulator misconfigured; see its log");
    }
    const url = new URL(request.url);
    if (url.pathname.startsWith("/__control/")) return handleControl(request, config.controlSecret);
    if (url.pathname === "/token") return handleToken(request, config, tokens);
    try {
      return await handleKms(request, url, config);
    } catch (error) {
      console.error("Cloud KMS emulator internal error", error);
      return rpcError(500, "INTERNAL", "Internal error encountered.");
    }
  },
} satisfies ExportedHandler<GcpEmulatorEnv>;

async function handleKms(request: Request, url: URL, config: GcpEmulatorConfig): Promise<Response> {
  const route = /^\/v1\/(projects\/[^:]+?)(?:\/cryptoKeyVersions\/(\d+))?:(encrypt|decrypt)$/.exec(
    decodeURIComponent(url.pathname),
  );
  if (!route) return rpcError(404, "NOT_FOUND", "The requested URL was not found on this server.");
  if (request.method !== "POST") return rpcError(405, "UNIMPLEMENTED", "Method not allowed; POST only.");
  // Authenticate before anything else, so a caller without a token learns nothing about keys.
  if (!tokens.check(request.headers.get("authorization"))) {
    return rpcError(
      401,
      "UNAUTHENTICATED",
      "Request had invalid authentication credentials. Expected OAuth 2 access token.",
    );
  }
  const [, name = "", version, method] = route;
  // Decrypt takes the key only; encrypt may name its one version. Real KMS answers 403 for keys
  // the caller cannot see "or that may not exist".
  const rootKey = config.keys.get(name);
  if (!rootKey || (version !== undefined && (method === "decrypt" || version !== "1"))) {
    return rpcError(
      403,
      "PERMISSION_DENIED",
      `Permission 'cloudkms.cryptoKeyVersions.useTo${method === "encrypt" ? "Encrypt" : "Decrypt"}' denied on resource (or it may not exist).`,
    );
  }
  if (Number(request.headers.get("content-length") ?? "0") > MAX_BODY_BYTES)
    return rpcError(400, "INVALID_ARGUMENT", "request too large");
  let json: unknown;
  try {
    json = JSON.parse(await request.text());
  } catch {
    return rpcError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
  }
  const input = (method === "encrypt" ? EncryptInput : DecryptInput).safeParse(json);
  if (!input.success) {
    return rpcError(
      400,
      "INVALID_ARGUMENT",
      input.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "),
    );
  }
  const aad = input.data.additionalAuthenticatedData;
  const scope = tenantOf(aad);
  recordCall(scope, method === "encrypt" ? "Encrypt" : "Decrypt");
  const fault = await faultResponse(takeFault(scope), {
    error: () => rpcError(503, "UNAVAILABLE", "The service is currently unavailable (injected)."),
    throttle: () =>
      rpcError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Cryptographic requests' (injected)."),
  });
  if (fault) return fault;

  const bound = contextAad(name, { additional_authenticated_data: bytesToHex(aad) });
  // Int enums if the client asked for them ($alt=json;enum-encoding=int, as the Node client does).
  const protectionLevel = url.searchParams.get("$alt")?.includes("enum-encoding=int") ? 1 : "SOFTWARE";
  const aadCrc = input.data.additionalAuthenticatedDataCrc32c;
  if (aadCrc !== undefined && aadCrc !== crc32c(aad)) return checksumMismatch("additional_authenticated_data");
  if ("plaintext" in input.data) {
    const { plaintext, plaintextCrc32c } = input.data;
    if (plaintextCrc32c !== undefined && plaintextCrc32c !== crc32c(plaintext)) return checksumMismatch("plaintext");
    const ciphertext = await sealBlob(rootKey, plaintext, bound);
    return Response.json({
      name: `${name}/cryptoKeyVersions/1`,
      ciphertext: bytesToBase64(ciphertext),
      ciphertextCrc32c: String(crc32c(ciphertext)),
      verifiedPlaintextCrc32c: plaintextCrc32c !== undefined,
      verifiedAdditionalAuthenticatedDataCrc32c: aadCrc !== undefined,
      protectionLevel,
    });
  }
  const { ciphertext, ciphertextCrc32c } = input.data;
  if (ciphertextCrc32c !== undefined && ciphertextCrc32c !== crc32c(ciphertext)) return checksumMismatch("ciphertext");
  let plaintext: Uint8Array;
  try {
    plaintext = await openBlob(rootKey, ciphertext, bound);
  } catch {
    return rpcError(400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.");
  }
  return Response.json({
    plaintext: bytesToBase64(plaintext),
    plaintextCrc32c: String(crc32c(plaintext)),
    usedPrimary: true,
    protectionLevel,
  });
}

function checksumMismatch(field: string): Response {
  return rpcError(
    400,
    "INVALID_ARGUMENT",
    `The checksum in field ${field}_crc32c did not match the data in field ${field}.`,
  );
}

/** The vault's AAD is the KEK context as JSON; its tenant_id scopes faults and stats. */
function tenantOf(aad: Uint8Array): string | null {
  try {
    const parsed = z.object({ tenant_id: z.string() }).safeParse(JSON.parse(new TextDecoder().decode(aad)));
    return parsed.success ? parsed.data.tenant_id : null;
  } catch {
    return null;
  }
}
