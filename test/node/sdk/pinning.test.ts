import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPinnedFetch, vaultClientWithPins, VaultError } from "../../../sdk/node";
import { generatePki, type KeyAlgorithm, type TestPki } from "../support/tls-certs";

/**
 * Certificate pinning against a real local TLS server (node:https, certificates from the openssl
 * CLI). The server counts HTTP requests and TLS handshakes, so "failed before any request was
 * written" and "no session was resumed" are observed, not assumed.
 */

const hasOpenssl = (() => {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

interface PinTarget {
  pki: TestPki;
  url: string;
  requests: number;
  handshakes: Array<{ reused: boolean }>;
  server: Server;
}

/** A TLS server presenting leaf and CA (as a server with an intermediate would), or the leaf alone. */
async function serve(pki: TestPki, presentChain = true): Promise<PinTarget> {
  const server = createServer({ key: pki.leafKey, cert: presentChain ? pki.leafCert + pki.caCert : pki.leafCert });
  const target: PinTarget = { pki, url: "", requests: 0, handshakes: [], server };
  server.on("secureConnection", (socket: TLSSocket) => target.handshakes.push({ reused: socket.isSessionReused() }));
  server.on("request", (req, res) => {
    target.requests++;
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  target.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return target;
}

describe.skipIf(!hasOpenssl).each<KeyAlgorithm>(["ec-p256", "rsa-2048"])("certificate pinning (%s)", (algorithm) => {
  let t: PinTarget;
  beforeAll(async () => {
    t = await serve(generatePki(algorithm));
  });
  afterAll(async () => {
    t.server.closeAllConnections();
    await new Promise((resolve) => t.server.close(resolve));
  });

  it("connects with the leaf's pin, and never resumes a TLS session", async () => {
    const vault = vaultClientWithPins({ url: t.url, pins: [t.pki.leafPin], ca: t.pki.caCert });
    const before = t.handshakes.length;
    expect(await vault.health()).toEqual({ ok: true });
    expect(await vault.health()).toEqual({ ok: true });
    const mine = t.handshakes.slice(before);
    expect(mine).toHaveLength(2);
    expect(mine.every((h) => !h.reused)).toBe(true);
  });

  it("accepts the CA's pin (any certificate of the chain)", async () => {
    const vault = vaultClientWithPins({
      url: t.url,
      pins: ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", t.pki.caPin],
      ca: t.pki.caCert,
    });
    expect(await vault.health()).toEqual({ ok: true });
    // Node builds the verified chain up to the trusted CA even when the server sends only its leaf.
    const leafOnly = await serve(t.pki, false);
    try {
      expect(await vaultClientWithPins({ url: leafOnly.url, pins: [t.pki.caPin], ca: t.pki.caCert }).health()).toEqual({
        ok: true,
      });
      expect(leafOnly.requests).toBe(1);
    } finally {
      await new Promise((resolve) => leafOnly.server.close(resolve));
    }
  });

  it("fails with pin_mismatch before any HTTP request reaches the server", async () => {
    const other = generatePki(algorithm);
    const vault = vaultClientWithPins({
      url: t.url,
      pins: [other.leafPin, other.caPin],
      ca: t.pki.caCert,
      retry: { maxRetries: 3 },
    });
    const requestsBefore = t.requests;
    const handshakesBefore = t.handshakes.length;
    const error = await vault.health().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect(error).toMatchObject({ code: "pin_mismatch", status: 0 });
    expect(t.requests).toBe(requestsBefore);
    // One attempt only: a pin mismatch is not a transient network error.
    expect(t.handshakes.length - handshakesBefore).toBeLessThanOrEqual(1);
  });

  it("still requires normal validation: the right pin without the CA is refused", async () => {
    const pinned = createPinnedFetch({ pins: [t.pki.leafPin] });
    await expect(pinned(`${t.url}/v1/health`)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    expect(() => createPinnedFetch({ pins: [] })).toThrow(TypeError);
    await expect(createPinnedFetch({ pins: [t.pki.leafPin] })("http://127.0.0.1:1/")).rejects.toThrow(TypeError);
  });
});
