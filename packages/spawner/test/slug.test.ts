import { isUserSlug, names, roleOfContainer, slugForSub } from "../src/slug";

/** Independent base32 (RFC 4648, lower case) over the whole digest, for cross-checking slugForSub. */
function referenceSlug(sub: string): string {
  const digest: Buffer = require("node:crypto").createHash("sha256").update(`oh-user:${sub}`).digest();
  const bits = [...digest].map((b) => b.toString(2).padStart(8, "0")).join("");
  let out = "";
  for (let i = 0; i + 5 <= bits.length && out.length < 16; i += 5)
    out += "abcdefghijklmnopqrstuvwxyz234567"[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

describe("user slugs and names", () => {
  it("accepts 16 base32 characters and refuses anything else", () => {
    expect(isUserSlug("abcdefghijklmnop")).toBe(true);
    for (const bad of ["ABCDEFGHIJKLMNOP", "abcdefghijklmno", "abcdefghijklmnop1", "abcdefgh0jklmnop", "../etc/passwdxxx", 42, undefined]) {
      expect(isUserSlug(bad)).toBe(false);
    }
  });

  it("GIVEN a Cognito sub THEN the slug is base32(SHA-256('oh-user:' + sub))[0..16]", () => {
    for (const sub of ["a1b2c3d4-0000-4000-8000-000000000001", "x", "ünïcødé"]) {
      expect(slugForSub(sub)).toBe(referenceSlug(sub));
      expect(isUserSlug(slugForSub(sub))).toBe(true);
    }
  });

  it("GIVEN a slug THEN host names follow docs/CONTRACTS.md, and owners are read back from container names only when well formed", () => {
    const slug = "abcdefghijklmnop";
    expect(names.appContainer(slug)).toBe("oh-app-abcdefghijklmnop");
    expect(names.sandboxPrefix(slug)).toBe("oh-sbx-abcdefghijklmnop-");
    expect(names.network(slug)).toBe("oh-u-abcdefghijklmnop");
    expect(names.bridge(slug)).toBe("ohu-abcdefghijk");
    expect(names.bridge(slug).length).toBeLessThanOrEqual(15);
    expect(roleOfContainer("/oh-app-abcdefghijklmnop")).toEqual({ kind: "app", owner: slug });
    expect(roleOfContainer("oh-sbx-abcdefghijklmnop-3xYz")).toEqual({ kind: "sandbox", owner: slug, sandboxId: "3xYz" });
    for (const bad of [
      "oh-app-abcdefghijklmno",
      "oh-sbx-abcdefghijklmnop-",
      "oh-sbx-abcdefghijklmnop",
      "oh-agent-server-x",
      "/other/oh-app-abcdefghijklmnop",
    ]) {
      expect(roleOfContainer(bad)).toBeUndefined();
    }
  });
});
