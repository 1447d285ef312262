import { api, bootstrap, createCredential, expectStatus, tokenWithRole } from "../helpers";

/** An OpenAI-style policy on the test upstream's host. */
export const OPENAI_POLICY = {
  origins: ["https://api.example.com"],
  methods: ["GET", "POST"],
  path_prefixes: ["/v1/"],
  inject: { type: "header", name: "Authorization", template: "Bearer {value}" },
  max_request_bytes: 1024,
  max_response_bytes: 4096,
  timeout_ms: 1000,
} as const;

/** A value whose encodings all differ from each other (it has '+' and '/' in base64, and URL-escaped characters). */
export const VALUE = "sk-proj-~~~?>?key=a&b=c 0123456789";

/** The proxy's answer. */
export interface UseAnswer {
  status: number;
  headers: Record<string, string>;
  body_base64: string;
  scrubbed: boolean;
  upstream_ms: number;
}

/** The answer body as text. */
export function bodyText(answer: UseAnswer): string {
  return new TextDecoder().decode(Uint8Array.from(atob(answer.body_base64), (c) => c.charCodeAt(0)));
}

/** A fresh tenant with a credential holding VALUE, a use policy on it, and a user token. */
export async function useWorld(policy: object = OPENAI_POLICY) {
  const { adminToken } = await bootstrap("use");
  const cred = await createCredential(adminToken, "openai", VALUE);
  await expectStatus(await api(adminToken, "PUT", `/v1/credentials/${cred.name}/use`, policy), 200);
  const user = await tokenWithRole(adminToken, "user", "agent:bot");
  return { adminToken, cred, user };
}

/** POST /v1/credentials/{ref}/use */
export function useCall(token: string, ref: string, body: object): Promise<Response> {
  return api(token, "POST", `/v1/credentials/${ref}/use`, body);
}
