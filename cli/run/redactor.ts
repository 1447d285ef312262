/**
 * Masks secret values in a byte stream that arrives in chunks cut anywhere, including through
 * the middle of a value (or of a multi-byte character in it).
 *
 * Matching is on UTF-8 bytes, left to right: at each position the longest value that matches
 * there is replaced by {@link MASK}. Bytes that could still become the start of a value are held
 * back until the next chunk decides; what is held is always a proper prefix of some value, so
 * never more than max(value length) - 1 bytes. The output is the same however the input is cut.
 */

/** What a masked value is replaced with. */
export const MASK = "*****";
const MASK_BYTES = Buffer.from(MASK);

/** A streaming redactor for one output stream. */
export class StreamRedactor {
  readonly #secrets: Buffer[];
  /** firstByte[b] = 1 when some value starts with byte b: most positions are skipped with one lookup. */
  readonly #firstByte = new Uint8Array(256);
  #held: Buffer = Buffer.alloc(0);

  /** Values to mask; empty and duplicate values are ignored. */
  constructor(values: readonly string[]) {
    const unique = [...new Set(values.filter((v) => v.length > 0))];
    // Longest first: where two values match at one position, the longer one is masked whole.
    this.#secrets = unique.map((v) => Buffer.from(v, "utf8")).sort((a, b) => b.length - a.length);
    for (const s of this.#secrets) this.#firstByte[s[0]!] = 1;
  }

  /** Bytes held back so far (at most the longest value's length minus one). */
  get held(): number {
    return this.#held.length;
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
      if (this.#firstByte[buf[i]!] === 0) {
        i++;
        continue;
      }
      for (const s of this.#secrets) {
        const available = buf.length - i;
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
