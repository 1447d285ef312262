#!/usr/bin/env node
// Bundles the CLI (and the MCP server and SDK it uses) for Node >= 20 into <outdir>/ghostvault.mjs
// plus chunks loaded on demand (the MCP server's, so other commands start fast). Dependencies
// stay external: they are installed beside it (cli/package.json lists them). Usage:
// node cli/build.mjs [outdir], default <repo>/dist/ (the checkout's bin); the package's `build` and
// `prepack` scripts run it from cli/ with outdir dist, so `npm pack --workspace cli` ships cli/dist/.
import { chmodSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outdir = path.resolve(process.argv[2] ?? path.join(root, "dist"));
buildSync({
  entryPoints: { ghostvault: path.join(root, "cli", "main.ts") },
  outdir,
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
chmodSync(path.join(outdir, "ghostvault.mjs"), 0o755);
