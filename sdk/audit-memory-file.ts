import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { CheckpointMemory, RememberedCheckpoint } from "./audit-memory";

const FileSchema = z.record(
  z.string(),
  z.object({
    origin: z.string(),
    size: z.number().int().min(0),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    note: z.string(),
  }),
);

/**
 * A {@link CheckpointMemory} in a JSON file (Node), keyed by origin: what the CLI keeps under its
 * config directory. Written to a temporary file and renamed, so a crash leaves the old memory.
 * A file that exists but is not such a memory is an error, never silently forgotten.
 */
export class FileCheckpointMemory implements CheckpointMemory {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  async #read(): Promise<Record<string, RememberedCheckpoint>> {
    let text: string;
    try {
      text = await readFile(this.#file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
      throw error;
    }
    const parsed = FileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`${this.#file} is not an audit checkpoint memory`);
    return parsed.data;
  }

  /** The remembered checkpoint of `origin`, if any. */
  async get(origin: string): Promise<RememberedCheckpoint | undefined> {
    return (await this.#read())[origin];
  }

  /** Remembers `checkpoint` for its origin. */
  async set(checkpoint: RememberedCheckpoint): Promise<void> {
    const all = { ...(await this.#read()), [checkpoint.origin]: checkpoint };
    await mkdir(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(all, null, 2) + "\n", { mode: 0o600 });
    await rename(tmp, this.#file);
  }
}
