import { Writable } from "node:stream";

/**
 * A sink that keeps the first `limit` bytes written to it and counts the rest: a command's
 * output returned to a model stays bounded however much the command prints.
 */
export class BoundedOutput extends Writable {
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #dropped = 0;

  /** Keeps at most `limit` bytes. */
  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const room = this.#limit - this.#kept;
    if (room > 0) {
      const part = chunk.subarray(0, room);
      this.#chunks.push(part);
      this.#kept += part.length;
    }
    this.#dropped += Math.max(0, chunk.length - Math.max(0, room));
    callback();
  }

  /** Bytes that did not fit. */
  get dropped(): number {
    return this.#dropped;
  }

  /** What was kept, as UTF-8 (a character cut at the limit shows as U+FFFD). */
  text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}
