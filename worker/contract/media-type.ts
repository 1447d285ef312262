/** Whether a Content-Type header names JSON (`application/json`, parameters allowed). */
export function isJsonMediaType(type: string | null | undefined): boolean {
  return /^application\/json(\s*;|$)/i.test(type ?? "");
}
