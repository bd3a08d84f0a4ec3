// The LLM gateway user key against vectors/llm-user-key.json (computed with Python's hmac, not this code; the gateway's
// custom-auth hook in packages/bootstrap-scripts is tested against the same file).
import vectorsFile from "../vectors/llm-user-key.json";
import { LLM_USER_KEY_PATTERN, llmUserKey, llmUserKeySlug, userSlug, verifyLlmUserKey } from "../src";

const { vectors, refusedWithFirstMasterKey: refused } = vectorsFile;
const firstMaster = vectors[0]!.masterKey;

describe("LLM gateway user keys", () => {
  it("GIVEN the vector file THEN it covers two people, a rotated master key and a non-ASCII sub", () => {
    expect(new Set(vectors.map((v) => v.slug)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(vectors.map((v) => v.masterKey)).size).toBe(2);
    expect(vectors.some((v) => /[^\x00-\x7f]/.test(v.sub))).toBe(true);
  });

  it.each(vectors.map((v) => [v.name, v] as const))("GIVEN the vector '%s' THEN the slug, the key and its check match", (_name, v) => {
    expect(userSlug(v.sub)).toBe(v.slug);
    expect(llmUserKey(v.masterKey, v.slug)).toBe(v.userKey);
    expect(v.userKey).toMatch(LLM_USER_KEY_PATTERN);
    expect(llmUserKeySlug(v.userKey)).toBe(v.slug);
    expect(verifyLlmUserKey(v.masterKey, v.userKey)).toBe(v.slug);
  });

  it("GIVEN two people THEN their keys differ, and a rotated master key changes every key", () => {
    expect(vectors[0]!.userKey).not.toBe(vectors[1]!.userKey);
    expect(vectors[0]!.slug).toBe(vectors[2]!.slug);
    expect(vectors[0]!.userKey).not.toBe(vectors[2]!.userKey);
  });

  // Impersonation and forgery: another person's MAC, a changed MAC, another master key's key, look-alikes.
  it.each(refused.map((r) => [r.name, r.key] as const))("GIVEN %s THEN the first master key accepts no one", (_name, key) => {
    expect(verifyLlmUserKey(firstMaster, key)).toBeUndefined();
  });

  it("GIVEN a bad master key or slug THEN a clear error naming what is wrong", () => {
    expect(() => llmUserKey("not-a-key", vectors[0]!.slug)).toThrow(/master key is not a gateway key/);
    expect(() => llmUserKey(vectors[0]!.userKey, vectors[0]!.slug)).toThrow(/itself a user key/);
    expect(() => llmUserKey(firstMaster, "Not-A-Slug")).toThrow(/"Not-A-Slug" is not a user slug/);
  });

  it("GIVEN a master key and a slug THEN the key never contains the master key", () => {
    for (const v of vectors) expect(v.userKey.includes(v.masterKey.slice(3))).toBe(false);
  });
});
