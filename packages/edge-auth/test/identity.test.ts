// The identity signature against the shared test vectors of @openhands-team/contracts (the runtime proxy tests its Lua check
// against the same file).
import vectors from "@openhands-team/contracts/vectors/identity-signature.json";
import { addIdentityHeaders, identitySignature, stripIdentityHeaders } from "../src/shared/identity";
import { userSlug } from "../src/slug";
import { cfRequest } from "./support/events";

describe("identity signature vectors", () => {
  it.each(vectors.vectors.map((v) => [v.name, v] as const))("GIVEN the vector %s THEN slug and x-oh-sig match", (_name, v) => {
    expect(userSlug(v.sub)).toBe(v.slug);
    expect(
      identitySignature(Buffer.from(v.identitySigningKey, "base64url"), v.host, { sub: v.sub, slug: v.slug, email: v.email }, v.exp),
    ).toBe(v.xOhSig);
  });

  it("GIVEN headers added by the edge THEN they carry the vector's values, exp 60 s ahead", () => {
    const v = vectors.vectors[0]!;
    const { headers } = cfRequest({ headers: { "X-OH-User": "forged" } });
    stripIdentityHeaders(headers);
    expect(headers["x-oh-user"]).toBeUndefined();
    addIdentityHeaders(
      headers,
      Buffer.from(v.identitySigningKey, "base64url"),
      v.host,
      { sub: v.sub, slug: v.slug, email: v.email },
      v.exp - 60,
    );
    expect(headers["x-oh-exp"]).toEqual([{ key: "X-Oh-Exp", value: String(v.exp) }]);
    expect(headers["x-oh-sig"]).toEqual([{ key: "X-Oh-Sig", value: v.xOhSig }]);
  });
});
