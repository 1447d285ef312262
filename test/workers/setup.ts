import { applyD1Migrations, env } from "cloudflare:test";

// Test files share one runtime and its storage (vitest.config.ts: isolate false), or get fresh
// storage each when the pool cannot be patched. Either way bring the D1 schema up to date first;
// applying migrations already applied is a no-op.
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
