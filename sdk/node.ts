/**
 * Node-only entry of the SDK: certificate pinning (DESIGN.md "Clients"). Import from here only in
 * Node; the core (sdk/index.ts) stays free of Node modules.
 *
 * A pin is the base64 SHA-256 of a certificate's SubjectPublicKeyInfo (DER), the same value as
 * HPKP's `pin-sha256` and `openssl x509 -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
 * The connection is accepted when normal validation (chain to a trusted CA, host name) passes
 * AND any certificate of the presented chain (leaf, intermediate or root) matches a pin.
 */

import { X509Certificate } from "node:crypto";
import https from "node:https";
import { Readable } from "node:stream";
import tls, { type DetailedPeerCertificate, type PeerCertificate } from "node:tls";
import { bytesToBase64 } from "../worker/core/crypto/encoding";
import { sha256Sync } from "../worker/core/crypto/sha256-sync";
import { VaultError } from "./errors";
import type { FetchLike } from "./http";
import { VaultClient, type VaultClientOptions } from "./index";

/** Options of {@link createPinnedFetch}. */
export interface PinnedFetchOptions {
  /** Base64 SHA-256 of the SPKI DER of certificates to accept; at least one. */
  pins: readonly string[];
  /** Extra trusted CA certificates (PEM), e.g. a private CA. Default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * The base64 SHA-256 of a certificate's SPKI DER: its pin. Computed from the certificate's own
 * DER (`cert.raw`), not from `cert.pubkey`: for EC keys Node gives the bare curve point there,
 * not the SubjectPublicKeyInfo, so an EC pin would never match.
 */
export function spkiPin(cert: PeerCertificate): string | undefined {
  if (!cert.raw) return undefined;
  try {
    const spki = new X509Certificate(cert.raw).publicKey.export({ type: "spki", format: "der" });
    return bytesToBase64(sha256Sync(spki));
  } catch {
    return undefined; // an unparseable certificate matches no pin
  }
}

/** Every certificate of the presented chain, leaf first; Node links a self-signed root to itself. */
function chain(leaf: PeerCertificate): PeerCertificate[] {
  const certs: PeerCertificate[] = [];
  let cert: PeerCertificate | undefined = leaf;
  while (cert && !certs.includes(cert) && certs.length < 16) {
    certs.push(cert);
    cert = (cert as Partial<DetailedPeerCertificate>).issuerCertificate;
  }
  return certs;
}

/**
 * `checkServerIdentity` that runs Node's own host-name check first, then the pins. Node calls it
 * with the detailed peer certificate after the chain has been validated against the CAs, and
 * before the socket emits `secureConnect`, so a mismatch destroys the socket before any byte of
 * the HTTP request is written.
 */
export function pinnedServerIdentity(
  pins: readonly string[],
): (host: string, cert: PeerCertificate) => Error | undefined {
  const wanted = new Set(pins);
  return (host, cert) => {
    const normal = tls.checkServerIdentity(host, cert);
    if (normal) return normal;
    if (chain(cert).some((c) => wanted.has(spkiPin(c) ?? ""))) return undefined;
    return new VaultError(
      "pin_mismatch",
      `the certificate chain of ${host} matches none of the ${wanted.size} pinned keys`,
      { status: 0 },
    );
  };
}

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function toHeaders(raw: NodeJS.Dict<string | string[]>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
  }
  return headers;
}

/**
 * A fetch over node:https that only talks to servers whose chain matches a pin. TLS session
 * resumption is off (`maxCachedSessions: 0`, no keep-alive, no session passed in), so every
 * request makes a full handshake and its certificate check: a resumed session cannot skip it.
 * Plain `http:` URLs are refused. Redirects are not followed (the API has none).
 * @throws TypeError if `pins` is empty.
 */
export function createPinnedFetch(options: PinnedFetchOptions): FetchLike {
  if (options.pins.length === 0) throw new TypeError("createPinnedFetch: give at least one pin");
  const checkServerIdentity = pinnedServerIdentity(options.pins);
  const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0, ca: options.ca, checkServerIdentity });
  return async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== "https:") throw new TypeError(`pinned fetch refuses ${url.protocol} URLs`);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    if (body !== undefined) headers["content-length"] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        request.url,
        { method: request.method, headers, agent, signal: init?.signal ?? undefined },
        (res) => {
          const status = res.statusCode ?? 0;
          // node:stream/web's ReadableStream is the global one at runtime; the type packages differ in detail.
          const stream = NULL_BODY_STATUS.has(status)
            ? null
            : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
          if (stream === null) res.resume();
          resolve(new Response(stream, { status, statusText: res.statusMessage, headers: toHeaders(res.headers) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  };
}

/** Options of {@link vaultClientWithPins}: the client's options plus pins and an optional CA. */
export type PinnedVaultClientOptions = Omit<VaultClientOptions, "fetch"> & PinnedFetchOptions;

/** A {@link VaultClient} whose every request goes through {@link createPinnedFetch}. */
export function vaultClientWithPins(options: PinnedVaultClientOptions): VaultClient {
  const { pins, ca, ...client } = options;
  return new VaultClient({ ...client, fetch: createPinnedFetch({ pins, ca }) });
}

export * from "./index";
export { FileCheckpointMemory } from "./audit-memory-file";
