/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures: a text, a blank line,
 * then one line per signature, `— <key name> <base64(key ID || signature)>`.
 *
 * Byte-compatible with Go's golang.org/x/mod/sumdb/note, so checkpoints can be checked with
 * standard transparency-log tooling as well as with this module.
 */

import { bytesEqual, concatBytes, fromBase64, sha256, toBase64, toHex } from "./encoding";
import { ED25519_KEY_BYTES, importSigningKey, sign, verify } from "./ed25519";

/** signed-note signature type for Ed25519 (C2SP signed-note, "Signature types"). */
export const SIGNATURE_TYPE_ED25519 = 0x01;

/** U+2014 EM DASH and a space start every signature line (C2SP signed-note, "Format"). */
const SIGNATURE_PREFIX = "\u2014 ";
/** Go's note.Open refuses more; the spec allows implementations to cap the count. */
const MAX_SIGNATURES = 100;
/** Defensive bound on input size; a checkpoint note is a few hundred bytes. */
const MAX_NOTE_CHARS = 1 << 20;

const encoder = new TextEncoder();

/** A key that signs notes under `name`. */
export interface NoteSigner {
  readonly name: string;
  /** First 4 bytes of SHA-256(name || 0x0A || 0x01 || public key). */
  readonly keyId: Uint8Array;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Signs the note text bytes. */
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A trusted Ed25519 key that notes are checked against. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** One signature line, parsed but not verified. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** The signature bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

/** A syntactically valid note: its signed text (ending in a newline) and its signature lines. */
export interface SignedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/**
 * A key name is non-empty and contains no whitespace and no "+" (C2SP signed-note, "Signatures":
 * the verifier key encoding uses "+" as its separator).
 */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name) && !/\p{Cc}|\p{Cs}/u.test(name);
}

/** Ed25519 key ID per C2SP signed-note: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export async function keyId(name: string, publicKey: Uint8Array): Promise<Uint8Array> {
  return typedKeyId(name, SIGNATURE_TYPE_ED25519, publicKey);
}

/**
 * Key ID of a key of signature type `type` (0x01 note signatures, 0x04 cosignature/v1):
 * SHA-256(name || 0x0A || type || public key)[:4] (C2SP signed-note, "Signatures").
 */
export async function typedKeyId(name: string, type: number, publicKey: Uint8Array): Promise<Uint8Array> {
  return (await sha256(concatBytes(encoder.encode(name), Uint8Array.of(0x0a, type), publicKey))).slice(0, 4);
}

/**
 * Creates a note signer from an Ed25519 private key (32-byte seed as bytes or lowercase hex, or
 * PKCS#8 bytes) and the key name it signs as.
 * @throws Error on an invalid key name or key.
 */
export async function createSigner(privateKey: Uint8Array | string, keyName: string): Promise<NoteSigner> {
  if (!isValidKeyName(keyName)) throw new Error(`invalid signed-note key name: ${JSON.stringify(keyName)}`);
  const pair = await importSigningKey(privateKey);
  return {
    name: keyName,
    keyId: await keyId(keyName, pair.publicKey),
    publicKey: pair.publicKey,
    sign: (message) => sign(pair.privateKey, message),
  };
}

/** The C2SP verifier key string `<name>+<hex key ID>+<base64(0x01 || public key)>`. */
export async function verifierKey(name: string, publicKey: Uint8Array): Promise<string> {
  return typedVerifierKey(name, SIGNATURE_TYPE_ED25519, publicKey);
}

/**
 * Parses a verifier key string. Returns null unless it is an Ed25519 key whose key ID matches
 * its name and public key (as Go's note.NewVerifier checks).
 */
export async function parseVerifierKey(vkey: string): Promise<NoteVerifier | null> {
  return parseTypedVerifierKey(vkey, SIGNATURE_TYPE_ED25519);
}

/** A vkey `<name>+<hex key ID>+<base64(type || public key)>` for an Ed25519 key of type `type`. */
export async function typedVerifierKey(name: string, type: number, publicKey: Uint8Array): Promise<string> {
  if (!isValidKeyName(name)) throw new Error(`invalid signed-note key name: ${JSON.stringify(name)}`);
  if (publicKey.length !== ED25519_KEY_BYTES) throw new Error("Ed25519 public key must be 32 bytes");
  const id = toHex(await typedKeyId(name, type, publicKey));
  return `${name}+${id}+${toBase64(concatBytes(Uint8Array.of(type), publicKey))}`;
}

/**
 * Parses a vkey of an Ed25519 key of signature type `type`; null for any other type, a bad name,
 * or a key ID that does not match name, type and key.
 */
export async function parseTypedVerifierKey(vkey: string, type: number): Promise<NoteVerifier | null> {
  // Split at the first two "+" only: names and hex IDs cannot contain one, base64 can.
  const match = /^([^+]*)\+([^+]*)\+(.*)$/su.exec(vkey);
  if (match === null) return null;
  const [, name, idHex, keyB64] = match as unknown as [string, string, string, string];
  const typed = fromBase64(keyB64);
  if (!isValidKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex) || typed === null) return null;
  if (typed.length !== 1 + ED25519_KEY_BYTES || typed[0] !== type) return null;
  const publicKey = typed.slice(1);
  const id = await typedKeyId(name, type, publicKey);
  return toHex(id) === idHex ? { name, keyId: id, publicKey } : null;
}

/**
 * Signs `text` with every signer and returns the note. The text must be non-empty, end with a
 * newline, contain no blank line and no control character but newline (C2SP signed-note).
 * @throws Error if the text breaks those rules.
 */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  const problem = textProblem(text) ?? (text.includes("\n\n") ? "text contains a blank line" : null);
  if (problem !== null) throw new Error(`cannot sign note: ${problem}`);
  if (signers.length === 0) throw new Error("cannot sign note: no signers");
  const message = encoder.encode(text);
  let lines = "";
  for (const signer of signers) {
    const signature = await signer.sign(message);
    lines += `${SIGNATURE_PREFIX}${signer.name} ${toBase64(concatBytes(signer.keyId, signature))}\n`;
  }
  return `${text}\n${lines}`;
}

/** Splits a note into text and signature lines, checking syntax only (no signature is verified). */
export function parseSignedNote(note: string): { ok: true; note: SignedNote } | { ok: false; reason: string } {
  const fail = (reason: string) => ({ ok: false, reason }) as const;
  if (note.length > MAX_NOTE_CHARS) return fail("note is too large");
  // The signed text ends at the last blank line (Go note.Open uses bytes.LastIndex).
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return fail("note has no blank line before its signatures");
  const text = note.slice(0, split + 1);
  const problem = textProblem(text);
  if (problem !== null) return fail(problem);
  const block = note.slice(split + 2);
  if (!block.endsWith("\n")) return fail("signature block does not end with a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) return fail(`more than ${MAX_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    const bytes = match ? fromBase64(match[2]!) : null;
    if (!match || !isValidKeyName(match[1]!) || bytes === null || bytes.length < 5) {
      return fail(`malformed signature line: ${JSON.stringify(line.slice(0, 200))}`);
    }
    signatures.push({ name: match[1]!, keyId: bytes.slice(0, 4), signature: bytes.slice(4) });
  }
  return { ok: true, note: { text, signatures } };
}

/**
 * Parses a note and verifies it against trusted keys. Per C2SP signed-note, signatures by
 * unknown keys are ignored, but a signature that claims a trusted key (same name and key ID) and
 * does not verify rejects the whole note. At least one trusted signature must verify.
 */
export async function openNote(
  note: string,
  verifiers: readonly NoteVerifier[],
): Promise<{ ok: true; text: string; verifiedBy: string[] } | { ok: false; reason: string }> {
  const parsed = parseSignedNote(note);
  if (!parsed.ok) return parsed;
  const message = encoder.encode(parsed.note.text);
  const verifiedBy: string[] = [];
  for (const sig of parsed.note.signatures) {
    const key = verifiers.find((v) => v.name === sig.name && bytesEqual(v.keyId, sig.keyId));
    if (key === undefined) continue;
    if (!(await verify(key.publicKey, message, sig.signature))) {
      return { ok: false, reason: `invalid signature by trusted key ${sig.name}` };
    }
    if (!verifiedBy.includes(key.name)) verifiedBy.push(key.name);
  }
  if (verifiedBy.length === 0) return { ok: false, reason: "no signature by a trusted key" };
  return { ok: true, text: parsed.note.text, verifiedBy };
}

/** Why `text` cannot be a note's text, or null: non-empty, ends with "\n", no other controls. */
function textProblem(text: string): string | null {
  if (text.length === 0 || !text.endsWith("\n")) return "text must be non-empty and end with a newline";
  // \p{Cs} in a JS string is a lone surrogate: not encodable as the UTF-8 the spec requires.
  if (/[^\n\P{Cc}]|\p{Cs}/u.test(text)) return "text contains a control character or invalid UTF-16";
  return null;
}
