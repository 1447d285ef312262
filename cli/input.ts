/**
 * Secret input: from stdin when it is piped, or a prompt that does not echo when it is a
 * terminal. Secrets are never taken from arguments, which land in shell history and in `ps`.
 */

import type { ReadStream } from "node:tty";

/** Reads stdin to its end as UTF-8. */
export async function readAll(stream: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Drops one trailing newline (what `echo` and most editors add), nothing else. */
export function stripFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}

/**
 * Asks for a secret on the terminal without echoing it: raw mode, so each key arrives alone;
 * Enter ends, Backspace deletes, Ctrl-C or Ctrl-D on an empty line aborts.
 * @throws Error when stdin is not a terminal, or the user aborts.
 */
export function promptHidden(
  question: string,
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  const tty = input as ReadStream;
  if (!tty.isTTY) return Promise.reject(new Error("no terminal to prompt on: pipe the secret on stdin instead"));
  output.write(question);
  return new Promise((resolve, reject) => {
    let value = "";
    const done = (error?: Error) => {
      tty.setRawMode(false);
      tty.pause();
      tty.off("data", onData);
      output.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003" || (ch === "\u0004" && value === "")) return done(new Error("aborted"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    tty.setRawMode(true);
    tty.resume();
    tty.on("data", onData);
  });
}

/**
 * A secret value: the whole of stdin (one final newline dropped) when stdin is piped, or a
 * hidden prompt on a terminal.
 * @throws Error when the value is empty.
 */
export async function readSecret(question: string): Promise<string> {
  const value = process.stdin.isTTY ? await promptHidden(question) : stripFinalNewline(await readAll());
  if (value === "")
    throw new Error('empty value: pipe it on stdin (`printf %s "$VALUE" | ghostvault ...`) or type it at the prompt');
  return value;
}
