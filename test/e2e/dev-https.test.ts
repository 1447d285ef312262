import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect, type PeerCertificate } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { createPinnedFetch, vaultClientWithPins, VaultError } from "../../sdk/node";
import { freePort, killAll, startDev, stopDev, waitForBanner } from "./dev-server-harness";

/**
 * `npm run dev -- --https` (issue 13 §5): wrangler dev serving TLS with the local certificate of
 * dev/dev-tls.mjs, and the SDK's certificate pinning against it. The pin printed in the banner is
 * checked against the certificate the server actually presents (computed here from the TLS
 * handshake, not by the script), and a wrong pin must fail before any request reaches the vault:
 * shown by a lease attempt that leaves no lease and no audit entry behind.
 */

const tempDirs: string[] = [];
afterAll(async () => {
  await killAll();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** The SPKI SHA-256 pin (base64) of the leaf certificate `url`'s server presents. */
async function presentedPin(url: string, ca: Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  const cert = await new Promise<PeerCertificate>((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port), ca }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.on("error", reject);
  });
  const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

describe("npm run dev -- --https", () => {
  it("serves TLS; the printed pin is the server's, the SDK connects with it, and a wrong pin sends nothing", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ghostvault-dev-https-"));
    tempDirs.push(dir);
    const stateDir = path.join(dir, "ghostvault");
    const server = startDev({
      port: await freePort(),
      persistDir: path.join(dir, "state"),
      stateDir,
      args: ["--https"],
    });
    const banner = await waitForBanner(server);
    expect(banner.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const pin = /SPKI pin:\s+(\S+)/.exec(server.output())?.[1];
    expect(pin).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const ca = readFileSync(path.join(stateDir, "tls", "ca.crt"));
    expect(await presentedPin(banner.url, ca)).toBe(pin);

    // Positive control: the right pin and the local CA.
    const vault = vaultClientWithPins({ url: banner.url, token: banner.token, pins: [pin!], ca });
    expect(await vault.whoami()).toMatchObject({ tenant_id: banner.tenantId, role: "admin" });
    await vault.credentials.create({ name: "pinned/db", value: "dev-https-secret" });
    const lease = await vault.lease("pinned/db", { ttl: "5m" });
    expect(lease.value).toBe("dev-https-secret");
    await lease.revoke();
    const seqBefore = Math.max(...(await vault.audit.query({})).items.map((r) => r.seq));

    // A wrong pin: refused during the handshake, before the request (a lease) is written.
    const wrongPin = createHash("sha256").update("not the server's key").digest("base64");
    const wrong = vaultClientWithPins({
      url: banner.url,
      token: banner.token,
      pins: [wrongPin],
      ca,
      retry: { maxRetries: 3 },
    });
    const error = await wrong.lease("pinned/db", { ttl: "5m" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ code: "pin_mismatch", status: 0 });
    expect((await vault.leases.list({})).items).toHaveLength(1); // only the revoked one
    const since = (await vault.audit.query({})).items.filter((r) => r.seq > seqBefore).map((r) => String(r.entry.type));
    expect(since.filter((type) => type.startsWith("lease."))).toEqual([]);

    // Pinning never replaces validation: the right pin without the local CA is refused too.
    await expect(createPinnedFetch({ pins: [pin!] })(`${banner.url}/v1/health`)).rejects.toThrow(
      /self[- ]signed|unable to (verify|get)|certificate/i,
    );
    // And the port speaks only TLS.
    await expect(
      fetch(banner.url.replace("https:", "http:") + "/v1/health", { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.status,
      ),
    ).rejects.toThrow();

    await stopDev(server, "SIGINT");
  });

  it("refuses an unknown argument with a clear message", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "ghostvault-dev-args-"));
    tempDirs.push(dir);
    const server = startDev({
      port: await freePort(),
      persistDir: path.join(dir, "state"),
      stateDir: path.join(dir, "gv"),
      args: ["--htps"],
    });
    const code = await new Promise<number | null>((resolve) => server.child.on("exit", resolve));
    expect(code).toBe(1);
    expect(server.output()).toContain("unknown argument --htps; the only one is --https");
  });
});
