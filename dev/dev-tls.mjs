// The local TLS certificate of `npm run dev -- --https` (issue 13 §5).
//
// wrangler dev serves https with `--local-protocol https`; left to itself it makes a self-signed
// certificate in its own config folder, shared by every project on the machine and replaced when
// it likes, so nobody could pin it ahead of time. Instead we make a small private CA and a server
// certificate signed by it for 127.0.0.1 and localhost, keep them in the state folder
// (.ghostvault/tls, git-ignored, keys mode 0600) and hand them to wrangler with
// `--https-key-path`/`--https-cert-path`. The banner prints the server certificate's SPKI pin
// (base64 SHA-256 of its SubjectPublicKeyInfo, the form the SDK and GHOSTVAULT_PINS take) and
// the CA file clients must trust. Made with the openssl CLI (Node has no API to issue X.509).

import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** Days the CA and server certificate are valid; both are remade a day before the end. */
const VALID_DAYS = 30;
const RENEW_BEFORE_MS = 24 * 3600 * 1000;

/** Base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (DER): the pin the SDK checks. */
export function spkiPin(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

function usable(certPath) {
  if (!existsSync(certPath)) return false;
  try {
    return Date.parse(new X509Certificate(readFileSync(certPath)).validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

function openssl(dir, args) {
  try {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    if (error.code === "ENOENT")
      throw new Error(
        "--https needs the openssl CLI to make a local certificate; install it (apt-get install openssl, brew install openssl)",
      );
    throw new Error(`openssl ${args[0]} failed: ${String(error.stderr ?? error.message).trim()}`);
  }
}

/**
 * The dev CA and server certificate in `<stateDir>/tls`, made (or remade, when missing or about to
 * expire) on demand. Returns their paths and pins; `created` says whether they are new.
 */
export function ensureDevCertificate(stateDir) {
  const dir = path.join(stateDir, "tls");
  const file = (name) => path.join(dir, name);
  const paths = { caPath: file("ca.crt"), certPath: file("server.crt"), keyPath: file("server.key") };
  let created = false;
  if (!usable(paths.caPath) || !usable(paths.certPath) || !existsSync(paths.keyPath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    openssl(dir, ["genpkey", ...ec, "-out", "ca.key"]);
    openssl(dir, [
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      "/CN=ghostvault local dev CA",
      "-days",
      String(VALID_DAYS),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-out",
      "ca.crt",
    ]);
    openssl(dir, ["genpkey", ...ec, "-out", "server.key"]);
    openssl(dir, ["req", "-new", "-key", "server.key", "-subj", "/CN=localhost", "-out", "server.csr"]);
    writeFileSync(
      file("server.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    );
    openssl(dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${Date.now().toString(16)}`,
      "-days",
      String(VALID_DAYS),
      "-extfile",
      "server.ext",
      "-out",
      "server.crt",
    ]);
    for (const name of ["server.csr", "server.ext"]) rmSync(file(name), { force: true });
    for (const name of ["ca.key", "server.key"]) chmodSync(file(name), 0o600);
    created = true;
  }
  const cert = readFileSync(paths.certPath, "utf8");
  const ca = readFileSync(paths.caPath, "utf8");
  return { ...paths, pin: spkiPin(cert), caPin: spkiPin(ca), ca, created };
}
