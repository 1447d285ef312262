import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VaultError } from "../../../sdk/index";
import { auditRow } from "../../../cli/audit-table";
import { vaultUrl } from "../../../cli/commands/auth";
import { aboutCredential, CliError, formatError, jsonError, networkCause, usageLine } from "../../../cli/errors";
import { formatFields, formatTable, jsonSafe, seconds, terminalSafe } from "../../../cli/output";
import { ROOT } from "../support/vault";

/**
 * Issue 9 §10 (terminal-safe output) and the offline parts of issue 12 §4, without a server:
 * the escaping functions, the printers built on them, and a scan of cli/ that keeps every print
 * path going through them. The same strings against a live vault are in cli.test.ts.
 */

/** What a hostile server (or a hostile agent name stored in it) sends. */
const OSC52 = "\u001b]52;c;cm0gLXJmIH4=\u0007"; // writes "rm -rf ~" to the clipboard
const ERASE_LINE = "\u001b[2K";
const RLO = "\u202e";
const HOSTILE = `agent${OSC52}x${ERASE_LINE}y${RLO}gnp.exe`;

/** Characters a terminal acts on: none of them may reach it raw. */
const RAW_UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("terminalSafe", () => {
  it("turns OSC 52, an erase-line CSI and a right-to-left override into visible escapes", () => {
    expect(terminalSafe(HOSTILE)).toBe("agent\\x1b]52;c;cm0gLXJmIH4=\\x07x\\x1b[2Ky\\u202egnp.exe");
    expect(terminalSafe("a\u009b31mb\u007fc\u2066d\u2069e\u200ff\u061cg\nh\ti\r")).toBe(
      "a\\x9b31mb\\x7fc\\u2066d\\u2069e\\u200ff\\u061cg\\x0ah\\x09i\\x0d",
    );
  });

  it("leaves ordinary text unchanged: any script, emoji, punctuation, backslashes (positive control)", () => {
    for (const text of ["prod/db-url", "café 日本語 עברית العربية 🙂", "C:\\path\\to", "agent:claude-code@laptop (ci)"])
      expect(terminalSafe(text)).toBe(text);
  });

  it("never lets an unsafe character through, for any string (property)", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => !RAW_UNSAFE.test(terminalSafe(s))));
  });
});

describe("jsonSafe", () => {
  it("parses back to exactly the server's value, and a terminal sees no raw control (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const json = jsonSafe(JSON.stringify({ description: s }));
        expect(RAW_UNSAFE.test(json.replace(/\n/g, ""))).toBe(false);
        expect(JSON.parse(json)).toEqual({ description: s });
      }),
    );
    expect(jsonSafe(JSON.stringify(HOSTILE))).toBe('"agent\\u001b]52;c;cm0gLXJmIH4=\\u0007x\\u001b[2Ky\\u202egnp.exe"');
    // Positive control: ordinary JSON is byte for byte what JSON.stringify wrote.
    const plain = JSON.stringify({ name: "prod/db-url", note: "café 🙂" }, null, 2);
    expect(jsonSafe(plain)).toBe(plain);
  });
});

describe("tables and fields", () => {
  it("escape every cell, so a value cannot forge a row or a line", () => {
    const table = formatTable(["agent", "purpose"], [[HOSTILE, "a\nFAKE  row"]]);
    expect(table).not.toMatch(RAW_UNSAFE);
    expect(table.split("\n")).toHaveLength(3);
    expect(table).toContain("\\x1b]52;c;");
    expect(formatFields([["description", HOSTILE]])).toBe(`description  ${terminalSafe(HOSTILE)}\n`);
    // Positive control: plain cells are printed as they are.
    expect(
      formatTable(
        ["name", "v"],
        [
          ["a", 1],
          ["longer", null],
        ],
      ),
    ).toBe("NAME    V\na       1\nlonger  -\n");
  });

  it("cut long cells with … only when asked to (terminals), never otherwise", () => {
    const long = "x".repeat(60);
    expect(formatTable(["f"], [[long]], { maxWidth: 10 })).toBe(`F\n${"x".repeat(9)}…\n`);
    expect(formatTable(["f"], [[long]])).toBe(`F\n${long}\n`);
    expect(formatTable(["f"], [["short"]], { maxWidth: 10 })).toBe("F\nshort\n");
  });

  it("durations read 15m, 1h, 1d, 90s", () => {
    expect([900, 3600, 86_400, 90, 5400, 604_800].map(seconds)).toEqual(["15m", "1h", "1d", "90s", "90m", "7d"]);
  });
});

describe("audit rows", () => {
  it("show identity, credential name and a short description, not raw JSON; escaped when printed", () => {
    const entry = {
      ts: "2026-05-01T12:00:00.123Z",
      type: "lease.created",
      actor: { identity: "agent:bot", token_id: "tok_1", agent: { name: HOSTILE } },
      target: { kind: "credential", id: "cred_1", version: 3 },
      outcome: "success",
      details: { lease_id: "lease_1", credential_name: "prod/db", ttl: 900, purpose: `deploy${ERASE_LINE}` },
    };
    const row = auditRow({ seq: 7, entry, hash: "h" } as unknown as Parameters<typeof auditRow>[0]);
    expect(row.slice(0, 6)).toEqual([7, "2026-05-01T12:00:00Z", "lease.created", "agent:bot", "success", "prod/db v3"]);
    expect(row[6]).toBe(`lease_id=lease_1 ttl=15m purpose=deploy${ERASE_LINE} agent=${HOSTILE}`);
    const table = formatTable(["seq", "time", "type", "identity", "outcome", "credential", "detail"], [row]);
    expect(table).not.toMatch(RAW_UNSAFE);
    expect(table).not.toContain('{"identity"');
  });
});

describe("errors", () => {
  it("a server message is escaped in the error line and exact (but jsonSafe) under --json", () => {
    const error = new VaultError("validation_failed", `bad name ${OSC52}`, { status: 400, requestId: "req_1" });
    expect(formatError(error)).toBe("error: bad name \\x1b]52;c;cm0gLXJmIH4=\\x07 (validation_failed, request req_1)");
    expect(JSON.parse(jsonError(error))).toEqual({
      error: { code: "validation_failed", message: `bad name ${OSC52}`, request_id: "req_1" },
    });
    expect(jsonError(error)).not.toMatch(RAW_UNSAFE);
    expect(JSON.parse(jsonError(new CliError("give --all", 2)))).toEqual({
      error: { code: "usage", message: "give --all" },
    });
  });

  it("name the credential that does not exist, and point at --clamp", () => {
    const notFound = new VaultError("not_found", "no such credential", { status: 404, requestId: "r" });
    expect(() => aboutCredential("openai2")(notFound)).toThrow('no such credential "openai2"');
    const tooLong = new VaultError(
      "validation_failed",
      "ttl 7200s exceeds this credential's maximum of 3600s; ask for less or send clamp: true",
      { status: 400 },
    );
    expect(() => aboutCredential("db")(tooLong)).toThrow(
      "db: ttl 7200s exceeds this credential's maximum of 3600s; ask for less or add --clamp to take the maximum",
    );
    // Positive control: other failures pass through unchanged.
    const denied = new VaultError("acl_denied", "denied", { status: 403 });
    expect(() => aboutCredential("db")(denied)).toThrow(denied);
  });

  it("name the host and cause of a network failure from the error's cause chain", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8792"), {
      code: "ECONNREFUSED",
      address: "127.0.0.1",
      port: 8792,
    });
    expect(networkCause(new TypeError("fetch failed", { cause: refused }))).toBe("ECONNREFUSED 127.0.0.1:8792");
    const both = Object.assign(new AggregateError([Object.assign(new Error("x"), { address: "::1", port: 8792 })]), {
      code: "ECONNREFUSED",
    });
    expect(networkCause(new TypeError("fetch failed", { cause: both }))).toBe("ECONNREFUSED [::1]:8792");
    expect(
      networkCause(
        new TypeError("fetch failed", {
          cause: Object.assign(new Error("x"), { code: "ENOTFOUND", hostname: "vault.invalid" }),
        }),
      ),
    ).toBe("ENOTFOUND vault.invalid");
    const error = new VaultError("network_error", "GET /v1/whoami: fetch failed", {
      status: 0,
      cause: new TypeError("fetch failed", { cause: refused }),
    });
    expect(formatError(error)).toBe(
      "error: GET /v1/whoami: cannot reach the vault: ECONNREFUSED 127.0.0.1:8792 (network_error)",
    );
  });

  it("commander's messages become one line with a pointer to --help", () => {
    expect(usageLine("error: unknown command 'lese'\n(Did you mean lease?)\n")).toBe(
      "unknown command 'lese' (Did you mean lease?) (add --help for usage)",
    );
  });
});

describe("login URL", () => {
  it("host:port means http on loopback and https elsewhere; a full URL is kept; garbage is a usage error", () => {
    expect(vaultUrl("127.0.0.1:8792")).toBe("http://127.0.0.1:8792");
    expect(vaultUrl("localhost:8792")).toBe("http://localhost:8792");
    expect(vaultUrl("[::1]:8792")).toBe("http://[::1]:8792");
    expect(vaultUrl("vault.example.com")).toBe("https://vault.example.com");
    expect(vaultUrl("vault.example.com:8443")).toBe("https://vault.example.com:8443");
    expect(vaultUrl("http://10.0.0.5:8792")).toBe("http://10.0.0.5:8792");
    expect(() => vaultUrl("ht tp://x")).toThrow(CliError);
    expect(() => vaultUrl("ftp://vault.example.com")).toThrow("only http and https");
  });
});

/** Every .ts file under cli/. */
async function cliSources(dir = path.join(ROOT, "cli")): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? cliSources(path.join(dir, e.name))
        : Promise.resolve(e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []),
    ),
  );
  return nested.flat();
}

describe("every print path goes through the escaping printers", () => {
  /**
   * Direct writes are allowed only where the text is not the server's: the printers themselves
   * (output.ts, errors.ts), the hidden prompt (input.ts), and `run`, whose streams carry the
   * child's own (masked) output.
   */
  const ALLOWED = new Set(["output.ts", "errors.ts", "input.ts", "run/runner.ts", "commands/run.ts"]);

  it("no file under cli/ writes to stdout or stderr, or logs to the console, except the printers", async () => {
    const files = await cliSources();
    expect(files.length).toBeGreaterThan(15);
    const offenders: string[] = [];
    for (const file of files) {
      const rel = path.relative(path.join(ROOT, "cli"), file);
      const text = await readFile(file, "utf8");
      if (/\bconsole\.\w+\(/.test(text)) offenders.push(`${rel}: console`);
      if (!ALLOWED.has(rel) && /process\.(stdout|stderr)\.write\(|\.write\(/.test(text))
        offenders.push(`${rel}: write`);
    }
    expect(offenders).toEqual([]);
  });

  it("the scan notices a direct write (positive control)", () => {
    expect(/process\.(stdout|stderr)\.write\(|\.write\(/.test('process.stdout.write(lease.agent.name + "\\n");')).toBe(
      true,
    );
  });
});
