import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** A test CA and a leaf it signed for 127.0.0.1 and localhost, PEM-encoded. */
export interface TestPki {
  caCert: string;
  leafCert: string;
  leafKey: string;
  /** Base64 SHA-256 of each certificate's SPKI DER, computed with node:crypto (not the SDK). */
  caPin: string;
  leafPin: string;
}

/** Key algorithms the tests cover. */
export type KeyAlgorithm = "ec-p256" | "rsa-2048";

const GENPKEY: Record<KeyAlgorithm, string[]> = {
  "ec-p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  "rsa-2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
};

/** The pin of a PEM certificate: base64 SHA-256 of its SubjectPublicKeyInfo DER. */
export function pinOf(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/**
 * Generates a self-signed CA and a server certificate with the `openssl` CLI (1.1.1 or later, for
 * `-addext`), valid for one day. Nothing is written outside a temp dir, which is removed.
 */
export function generatePki(algorithm: KeyAlgorithm): TestPki {
  const dir = mkdtempSync(path.join(tmpdir(), "ghostvault-pki-"));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  try {
    openssl("genpkey", ...GENPKEY[algorithm], "-out", file("ca.key"));
    openssl(
      "req",
      "-x509",
      "-new",
      "-key",
      file("ca.key"),
      "-subj",
      `/CN=ghostvault test CA ${algorithm}`,
      "-days",
      "1",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
      "-out",
      file("ca.crt"),
    );
    openssl("genpkey", ...GENPKEY[algorithm], "-out", file("leaf.key"));
    openssl("req", "-new", "-key", file("leaf.key"), "-subj", "/CN=localhost", "-out", file("leaf.csr"));
    writeFileSync(
      file("leaf.ext"),
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    );
    openssl(
      "x509",
      "-req",
      "-in",
      file("leaf.csr"),
      "-CA",
      file("ca.crt"),
      "-CAkey",
      file("ca.key"),
      "-set_serial",
      "2",
      "-days",
      "1",
      "-extfile",
      file("leaf.ext"),
      "-out",
      file("leaf.crt"),
    );
    const caCert = readFileSync(file("ca.crt"), "utf8");
    const leafCert = readFileSync(file("leaf.crt"), "utf8");
    return {
      caCert,
      leafCert,
      leafKey: readFileSync(file("leaf.key"), "utf8"),
      caPin: pinOf(caCert),
      leafPin: pinOf(leafCert),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
