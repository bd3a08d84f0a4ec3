// The identity signing string and x-oh-sig against vectors/identity-signature.json (computed without this code; the runtime
// proxy's Lua and packages/edge-auth test against the same file).
import { createHmac } from "node:crypto";
import signatureVectors from "../vectors/identity-signature.json";
import slugVectors from "../vectors/slug.json";
import { IDENTITY_HEADERS, identitySignature, identitySigningText, userSlug } from "../src";

const vectors = signatureVectors.vectors;

describe("identity signature vectors", () => {
  it("GIVEN the vector file THEN it covers app and runtime hosts, an empty email and two keys", () => {
    expect(vectors.some((v) => v.host.includes(`-${v.slug}.`))).toBe(true);
    expect(vectors.some((v) => v.email === "")).toBe(true);
    expect(new Set(vectors.map((v) => v.identitySigningKey)).size).toBeGreaterThanOrEqual(2);
  });

  it.each(vectors.map((v) => [v.name, v] as const))("GIVEN the vector '%s' THEN signing text, slug and x-oh-sig match", (_name, v) => {
    const key = Buffer.from(v.identitySigningKey, "base64url");
    expect(key).toHaveLength(32);
    expect(userSlug(v.sub)).toBe(v.slug);
    expect(identitySigningText(v.host, v, v.exp)).toBe(v.signedText);
    expect(identitySignature(key, v.host, v, v.exp)).toBe(v.xOhSig);
    expect(v.xOhSig).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each(
    vectors.map((v) => [v.name, v] as const),
  )("GIVEN the vector '%s' with any one field changed THEN the signature differs", (_name, v) => {
    const key = Buffer.from(v.identitySigningKey, "base64url");
    const changed = [
      identitySignature(key, `x${v.host}`, v, v.exp),
      identitySignature(key, v.host, { ...v, sub: `${v.sub}x` }, v.exp),
      identitySignature(key, v.host, { ...v, slug: `${v.slug.slice(1)}a` }, v.exp),
      identitySignature(key, v.host, { ...v, email: `${v.email}x` }, v.exp),
      identitySignature(key, v.host, v, v.exp + 1),
      identitySignature(Buffer.from(key).fill(1, 0, 1), v.host, v, v.exp),
    ];
    for (const sig of changed) expect(sig).not.toBe(v.xOhSig);
  });

  it("GIVEN a newline moved between two fields THEN the signing text differs (fields cannot be shifted)", () => {
    const v = vectors[0]!;
    expect(identitySigningText(v.host, { sub: `${v.sub}\n${v.slug}`, slug: "", email: v.email }, v.exp)).not.toBe(v.signedText);
  });

  it("GIVEN a slug vector's sub THEN a signature over it is the HMAC of the documented text", () => {
    const key = Buffer.alloc(32, 7);
    const s = slugVectors.vectors.find((x) => /[^\x00-\x7f]/.test(x.sub))!;
    const text = `v1\nopenhands.example.com\n${s.sub}\n${s.slug}\n\n1767225600`;
    expect(identitySignature(key, "openhands.example.com", { sub: s.sub, slug: s.slug, email: "" }, 1767225600)).toBe(
      createHmac("sha256", key).update(text, "utf8").digest("base64url"),
    );
  });

  it("GIVEN the header list THEN it is the five x-oh-* headers of the contract, in order", () => {
    expect(IDENTITY_HEADERS).toEqual(["x-oh-user", "x-oh-user-slug", "x-oh-email", "x-oh-exp", "x-oh-sig"]);
  });
});
