import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../../cli/run/env-file";

/** `run --env-file`: which lines are leased, which are passed on, which are refused (issue 12 §4). */

describe("parseEnvFile", () => {
  it("leases VAR=gv://credential lines and passes every other VAR=value on as it is", () => {
    const text = [
      "# a comment",
      "",
      "OPENAI_API_KEY=gv://openai",
      "export DB_URL='gv://prod/db-url'",
      'PORT="3000"',
      "GREETING=hello world",
      "EMPTY=",
      "URL=https://example.com/?a=b",
      "  INDENTED = gv://cred_01H ",
    ].join("\r\n");
    expect(parseEnvFile(text, ".env")).toEqual({
      leased: [
        { variable: "OPENAI_API_KEY", credential: "openai" },
        { variable: "DB_URL", credential: "prod/db-url" },
        { variable: "INDENTED", credential: "cred_01H" },
      ],
      plain: { PORT: "3000", GREETING: "hello world", EMPTY: "", URL: "https://example.com/?a=b" },
    });
  });

  it("refuses a malformed line or an empty reference with its line number, without echoing the line", () => {
    expect(() => parseEnvFile("A=1\nsk-secret-value-without-a-name\n", "prod.env")).toThrow(
      /^prod\.env:2: expected VAR=value or VAR=gv:\/\/credential$/,
    );
    expect(() => parseEnvFile("A=1\n1BAD=x", "f")).toThrow("f:2: expected VAR=value");
    expect(() => parseEnvFile("KEY=gv://", "f")).toThrow("f:1: KEY=gv:// names no credential");
    try {
      parseEnvFile("sk-secret-value-without-a-name", "f");
    } catch (error) {
      expect((error as Error).message).not.toContain("sk-secret");
    }
    // Positive control: an empty file parses to nothing.
    expect(parseEnvFile("\n# only comments\n", "f")).toEqual({ leased: [], plain: {} });
  });

  it("a later line for the same variable wins, reference or not", () => {
    expect(parseEnvFile("A=gv://x\nA=plain", "f")).toEqual({ leased: [], plain: { A: "plain" } });
    expect(parseEnvFile("A=plain\nA=gv://x\nA=gv://y", "f")).toEqual({
      leased: [{ variable: "A", credential: "y" }],
      plain: {},
    });
  });
});
