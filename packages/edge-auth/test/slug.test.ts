import { createHash } from "node:crypto";
import { base32 } from "@openhands-team/contracts";
import { userSlug } from "../src/slug";

describe("userSlug", () => {
  it("encodes RFC 4648 test vectors in lower case without padding", () => {
    expect(base32(Buffer.from("foobar"))).toBe("mzxw6ytboi");
    expect(base32(Buffer.from("f"))).toBe("my");
  });

  it("is the first 16 base32 characters of SHA-256(oh-user:sub)", () => {
    const digest = createHash("sha256").update("oh-user:abc").digest();
    expect(userSlug("abc")).toBe(base32(digest).slice(0, 16));
    expect(userSlug("abc")).toMatch(/^[a-z2-7]{16}$/);
    expect(userSlug("abd")).not.toBe(userSlug("abc"));
  });

  it("GIVEN more subs than its memory holds THEN every answer is still the hash of its own sub", () => {
    const direct = (sub: string) => base32(createHash("sha256").update(`oh-user:${sub}`).digest()).slice(0, 16);
    const subs = [...Array.from({ length: 5000 }, (_, i) => `sub-${i}`), "__proto__", "constructor", "sub-0", "sub-4999"];
    for (const sub of subs) expect(userSlug(sub)).toBe(direct(sub));
    for (const sub of subs) expect(userSlug(sub)).toBe(direct(sub));
  });
});
