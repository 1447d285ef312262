/**
 * The programs `run_with_credentials` may start: only those the person starting the server
 * listed with `--allow-run` (DESIGN.md "Clients"). A model chooses the command, so anything that
 * can read its own environment (a shell, an interpreter, `env`) can reveal a value it was given;
 * such programs are not special-cased here, they are simply not allowed unless listed.
 */

import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";

/** Finds `name` as an executable file: a path (resolved against `cwd`) or a bare name on `searchPath`. */
export function resolveProgram(name: string, searchPath: string | undefined, cwd: string): string | undefined {
  if (name === "") return undefined;
  if (name.includes("/")) return executable(path.resolve(cwd, name));
  // An empty PATH entry means the working directory: never searched, the model chooses that.
  for (const dir of (searchPath ?? "").split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const found = executable(path.join(dir, name));
    if (found !== undefined) return found;
  }
  return undefined;
}

function executable(file: string): string | undefined {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile() ? path.normalize(file) : undefined;
  } catch {
    return undefined;
  }
}

/** The allow-list, resolved once at start; {@link check} answers for one command. */
export class AllowedPrograms {
  readonly #paths: ReadonlySet<string>;
  readonly #searchPath: string | undefined;

  private constructor(paths: ReadonlySet<string>, searchPath: string | undefined) {
    this.#paths = paths;
    this.#searchPath = searchPath;
  }

  /**
   * Resolves every `--allow-run` entry (absolute path, or name on `searchPath`) now, so a file
   * put earlier on PATH later changes nothing. @throws Error naming an entry that is not an executable file.
   */
  static resolve(programs: readonly string[], searchPath: string | undefined, cwd: string): AllowedPrograms {
    const paths = new Set<string>();
    for (const program of programs) {
      const found = resolveProgram(program, searchPath, cwd);
      if (found === undefined)
        throw new Error(`--allow-run ${program}: not an executable file${program.includes("/") ? "" : " on PATH"}`);
      paths.add(found);
    }
    return new AllowedPrograms(paths, searchPath);
  }

  /** The allowed programs' absolute paths, sorted. */
  get list(): string[] {
    return [...this.#paths].sort();
  }

  /**
   * The absolute path to start for `argv0`, resolved as at start (PATH then, `cwd` for a path);
   * undefined unless it is exactly one of the allowed paths. Symlinks are not followed: allowing
   * `/bin/ls` must not allow `/bin/sh` when both link to one multi-call binary.
   */
  check(argv0: string, cwd: string): string | undefined {
    const found = argv0.includes("/") ? path.resolve(cwd, argv0) : resolveProgram(argv0, this.#searchPath, cwd);
    return found !== undefined && this.#paths.has(found) ? found : undefined;
  }
}
