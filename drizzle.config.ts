import { defineConfig } from "drizzle-kit";

// D1 migrations are generated from worker/core/db/schema.ts; wrangler applies them (migrations_dir).
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/core/db/schema.ts",
  out: "./migrations",
});
