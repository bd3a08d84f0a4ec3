import { isUserSlug } from "../src/slug";

describe("isUserSlug", () => {
  it("accepts 16 base32 characters and refuses anything else", () => {
    expect(isUserSlug("abcdefghijklmnop")).toBe(true);
    for (const bad of ["ABCDEFGHIJKLMNOP", "abcdefghijklmno", "abcdefghijklmnop1", "abcdefgh0jklmnop", "../etc/passwdxxx"]) {
      expect(isUserSlug(bad)).toBe(false);
    }
  });
});
