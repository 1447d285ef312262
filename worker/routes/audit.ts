import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { auditPublicKey } from "../core/audit/signing-key";
import { bytesToBase64 } from "../core/crypto";
import { OPERATION_TABLE } from "../contract/operations";
import type { ExportPage } from "../contract/schemas/audit";
import { callOperation, respond } from "./define";

const EXPORT_PAGE = 1000;
const exportOp = OPERATION_TABLE["audit.export"];
const publicKeyOp = OPERATION_TABLE["audit.public_key"];

/**
 * The two audit operations the table's generic handler cannot serve: the public key (public,
 * answered from the Worker's configuration) and the export (JSON Lines streamed page by page,
 * each page one `audit.export` call to the tenant's vault).
 */
export const audit = new Hono<AppEnv>()
  .get(publicKeyOp.path, async (c) => {
    const { keyName, publicKey, vkey, legacyKeyName, legacyVkey } = await auditPublicKey(
      c.get("config").AUDIT_SIGNING_KEY,
      c.get("config").AUDIT_HOST,
    );
    return respond(c, publicKeyOp, {
      key_name: keyName,
      public_key: bytesToBase64(publicKey),
      verifier_key: vkey,
      legacy_key_name: legacyKeyName,
      legacy_verifier_key: legacyVkey,
      algorithm: "ed25519",
    });
  })
  .get(exportOp.path, async (c) => {
    const page = async (after: number | null) =>
      (await callOperation(c, "audit.export", { page: { after, limit: EXPORT_PAGE } })) as ExportPage;
    // The first page is fetched before answering, so a refused token gets its 401/403 as usual.
    const first = await page(null);
    const encoder = new TextEncoder();
    let next = first.next_after;
    let pending: ExportPage | null = first;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const current = pending ?? (next === null ? null : await page(next));
        pending = null;
        if (current === null) return controller.close();
        next = current.next_after;
        controller.enqueue(encoder.encode(current.lines.map((l) => `${l}\n`).join("")));
        if (next === null) controller.close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "application/x-ndjson",
        "cache-control": "no-store",
        "x-request-id": c.get("requestId"),
      },
    });
  });
