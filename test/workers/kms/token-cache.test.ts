import { describe, expect, it } from "vitest";
import { KmsError } from "../../../worker/core/kms";
import { AccessTokenCache, type AccessToken } from "../../../worker/core/kms/token-cache";

/** A token source that counts mints and can be held open, with a hand-driven clock. */
function harness(lifetimeMs = 3_600_000, marginMs = 300_000) {
  let now = 1_000_000;
  let minted = 0;
  let release: (() => void) | undefined;
  let hold = false;
  const mint = async (): Promise<AccessToken> => {
    minted++;
    const n = minted;
    if (hold) await new Promise<void>((r) => (release = r));
    return { token: `t${n}`, expiresAt: now + lifetimeMs };
  };
  const cache = new AccessTokenCache(mint, marginMs, () => now);
  return {
    cache,
    minted: () => minted,
    advance: (ms: number) => (now += ms),
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

describe("AccessTokenCache (gcp and azure OAuth tokens)", () => {
  it("reuses one token until the margin before expiry, then mints a new one", async () => {
    const h = harness();
    expect(await h.cache.get()).toBe("t1");
    h.advance(3_600_000 - 300_000 - 1);
    expect(await h.cache.get()).toBe("t1");
    expect(h.minted()).toBe(1);
    h.advance(1);
    expect(await h.cache.get()).toBe("t2");
    expect(h.minted()).toBe(2);
  });

  it("shares one mint among concurrent misses (single flight)", async () => {
    const h = harness();
    h.holdNext();
    const waiting = Array.from({ length: 10 }, () => h.cache.get());
    h.release();
    expect(await Promise.all(waiting)).toEqual(Array(10).fill("t1"));
    expect(h.minted()).toBe(1);
  });

  it("drops a token the KMS refused (401) so the next call mints, but not a newer one", async () => {
    const h = harness();
    expect(await h.cache.get()).toBe("t1");
    h.cache.invalidate("stale-other-token");
    expect(await h.cache.get()).toBe("t1");
    h.cache.invalidate("t1");
    expect(await h.cache.get()).toBe("t2");
  });

  it("does not cache a failed mint: the next call tries again", async () => {
    let calls = 0;
    const cache = new AccessTokenCache(async () => {
      calls++;
      if (calls === 1) throw new KmsError("unavailable", "token endpoint failed");
      return { token: "ok", expiresAt: Date.now() + 3_600_000 };
    }, 300_000);
    await expect(cache.get()).rejects.toBeInstanceOf(KmsError);
    expect(await cache.get()).toBe("ok");
  });
});
