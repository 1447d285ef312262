/**
 * Masks secret values in a byte stream that arrives in chunks cut anywhere, including through
 * the middle of a value (or of a multi-byte character in it).
 *
 * Matching is on UTF-8 bytes, left to right: at each position the longest value that matches
 * there is replaced by {@link MASK}. Bytes that could still become the start of a value are held
 * back until the next chunk decides; what is held is always a proper prefix of some value, so
 * never more than max(pattern length) - 1 bytes. The output is the same however the input is cut.
 *
 * The patterns are each value's UTF-8 bytes and, for values of {@link ENCODED_MIN_BYTES} or more,
 * its common encodings ({@link encodedForms}): a program that prints `base64 <<<"$KEY"` must not
 * get the value past the mask. Slicing or any other transformation cannot be caught this way.
 */

/** What a masked value is replaced with. */
export const MASK = "*****";
const MASK_BYTES = Buffer.from(MASK);

/** Values shorter than this are masked only as they are: short encodings would mask ordinary text. */
export const ENCODED_MIN_BYTES = 8;

/**
 * The common encodings of `value` that a program may print: base64 and base64url (with and
 * without padding, and the characters that are the value's alone when it starts 1 or 2 bytes into
 * a longer base64 stream), hex (lower and upper case) and URL-encoding (%XX upper and lower case,
 * and `+` for space as forms use). Empty for values under {@link ENCODED_MIN_BYTES} bytes.
 */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length < ENCODED_MIN_BYTES) return [];
  const forms = new Set<string>();
  for (const offset of [0, 1, 2]) {
    // Encoded after `offset` other bytes, the first characters mix those bytes' bits with the
    // value's and the last may mix in what follows: keep only the characters made of value bits.
    const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64");
    const aligned = b64.slice(Math.ceil((offset * 8) / 6), Math.floor(((offset + bytes.length) * 8) / 6));
    forms.add(aligned);
    if (offset === 0) forms.add(b64).add(b64.replace(/=+$/, ""));
  }
  for (const f of [...forms]) forms.add(f.replace(/\+/g, "-").replace(/\//g, "_"));
  const hex = bytes.toString("hex");
  forms.add(hex).add(hex.toUpperCase());
  const uri = encodeURIComponent(value);
  forms
    .add(uri)
    .add(uri.replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()))
    .add(uri.replace(/%20/g, "+"));
  forms.delete(value);
  return [...forms];
}

/** A streaming redactor for one output stream. */
export class StreamRedactor {
  readonly #secrets: Buffer[];
  /**
   * byFirstByte[b]: the patterns starting with byte b, longest first. Most positions are skipped
   * with one lookup, and hex and base64 forms, which start with common characters, are only
   * compared where their first byte is.
   */
  readonly #byFirstByte: (Buffer[] | undefined)[] = new Array<Buffer[] | undefined>(256);
  #held: Buffer = Buffer.alloc(0);

  /** Values to mask, with their {@link encodedForms}; empty and duplicate values are ignored. */
  constructor(values: readonly string[]) {
    const unique = [...new Set(values.filter((v) => v.length > 0).flatMap((v) => [v, ...encodedForms(v)]))];
    // Longest first: where two values match at one position, the longer one is masked whole.
    this.#secrets = unique.map((v) => Buffer.from(v, "utf8")).sort((a, b) => b.length - a.length);
    for (const s of this.#secrets) (this.#byFirstByte[s[0]!] ??= []).push(s);
  }

  /** Bytes held back so far (at most {@link maxHeld}). */
  get held(): number {
    return this.#held.length;
  }

  /** The most bytes ever held back: the longest pattern (value or encoding) minus one. */
  get maxHeld(): number {
    return Math.max(0, ...this.#secrets.map((s) => s.length - 1));
  }

  /** Feeds a chunk; returns what can be written now, values masked. */
  push(chunk: Buffer | string): Buffer {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    if (this.#secrets.length === 0) return bytes;
    return this.#scan(this.#held.length === 0 ? bytes : Buffer.concat([this.#held, bytes]), false);
  }

  /** Ends the stream: returns the held bytes, with any value in them masked. */
  flush(): Buffer {
    const rest = this.#held;
    this.#held = Buffer.alloc(0);
    return rest.length === 0 ? rest : this.#scan(rest, true);
  }

  #scan(buf: Buffer, final: boolean): Buffer {
    const out: Buffer[] = [];
    let copyFrom = 0;
    let i = 0;
    scan: while (i < buf.length) {
      const candidates = this.#byFirstByte[buf[i]!];
      if (candidates === undefined) {
        i++;
        continue;
      }
      const available = buf.length - i;
      for (const s of candidates) {
        // The second byte rules out most candidates without a call into compare().
        if (available > 1 && s.length > 1 && s[1] !== buf[i + 1]) continue;
        if (available >= s.length) {
          if (buf.compare(s, 0, s.length, i, i + s.length) === 0) {
            out.push(buf.subarray(copyFrom, i), MASK_BYTES);
            i += s.length;
            copyFrom = i;
            continue scan;
          }
        } else if (!final && buf.compare(s, 0, available, i, buf.length) === 0) {
          // A longer value may still complete here: decide when more bytes arrive.
          out.push(buf.subarray(copyFrom, i));
          this.#held = Buffer.from(buf.subarray(i));
          return Buffer.concat(out);
        }
      }
      i++;
    }
    out.push(buf.subarray(copyFrom));
    this.#held = Buffer.alloc(0);
    return Buffer.concat(out);
  }
}
