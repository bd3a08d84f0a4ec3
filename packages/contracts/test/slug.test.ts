// The slug and the names on the host against vectors/slug.json, computed with Python (hashlib, base64) rather than this code.
import slugVectors from "../vectors/slug.json";
import { base32, isUserSlug, names, ownerOfNetwork, roleOfContainer, runtimeHostName, userSlug } from "../src";

describe("base32", () => {
  it("GIVEN the RFC 4648 section 10 test vectors THEN it encodes them in lower case without padding", () => {
    const rfc: [string, string][] = [
      ["", ""],
      ["f", "my"],
      ["fo", "mzxq"],
      ["foo", "mzxw6"],
      ["foob", "mzxw6yq"],
      ["fooba", "mzxw6ytb"],
      ["foobar", "mzxw6ytboi"],
    ];
    for (const [input, output] of rfc) expect(base32(Buffer.from(input))).toBe(output);
  });

  it("GIVEN all 256 byte values THEN it round-trips through an independent decoder", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const encoded = base32(bytes);
    const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    let bits = 0;
    let value = 0;
    const decoded: number[] = [];
    for (const char of encoded) {
      value = (value << 5) | alphabet.indexOf(char);
      bits += 5;
      if (bits >= 8) {
        decoded.push((value >>> (bits - 8)) & 255);
        bits -= 8;
      }
    }
    expect(decoded).toEqual([...bytes]);
  });
});

describe("the slug vectors", () => {
  const vectors = slugVectors.vectors;

  it("GIVEN the vector file THEN it holds unicode subs (non-ASCII UTF-8) and the NFC/NFD pair", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
    expect(vectors.some((v) => /[^\x00-\x7f]/.test(v.sub) && Buffer.from(v.sub, "utf8").length >= v.sub.length + 2)).toBe(true);
    const nfc = vectors.find((v) => v.sub === v.sub.normalize("NFC") && v.sub !== v.sub.normalize("NFD"));
    expect(nfc && vectors.some((v) => v.sub === nfc.sub.normalize("NFD"))).toBe(true);
  });

  it.each(
    vectors.map((v) => [v.name, v] as const),
  )("GIVEN the vector '%s' THEN the sub's UTF-8 bytes are the ones the vector hashed", (_name, v) => {
    expect(Buffer.from(v.sub, "utf8").toString("hex")).toBe(v.subUtf8Hex);
  });

  it.each(vectors.map((v) => [v.name, v] as const))("GIVEN the vector '%s' THEN userSlug and every name agree", (_name, v) => {
    expect(userSlug(v.sub)).toBe(v.slug);
    expect(isUserSlug(v.slug)).toBe(true);
    expect(names.appContainer(v.slug)).toBe(v.appContainer);
    expect(names.sandboxPrefix(v.slug)).toBe(v.sandboxPrefix);
    expect(names.network(v.slug)).toBe(v.network);
    expect(names.bridge(v.slug)).toBe(v.bridge);
    expect(v.bridge.length).toBeLessThanOrEqual(15);
    expect(roleOfContainer(`/${v.appContainer}`)).toEqual({ kind: "app", owner: v.slug });
    expect(roleOfContainer(`${v.sandboxPrefix}abc`)).toEqual({ kind: "sandbox", owner: v.slug, sandboxId: "abc" });
    expect(ownerOfNetwork(v.network)).toBe(v.slug);
  });

  it("GIVEN two subs one character apart, or the same letters in another normal form THEN their slugs differ", () => {
    const slugs = new Set(vectors.map((v) => v.slug));
    expect(slugs.size).toBe(vectors.length);
    expect(userSlug("abc")).not.toBe(userSlug("abd"));
  });

  it("GIVEN a vector with one character changed THEN the comparison fails (the check can fail)", () => {
    const v = vectors[0]!;
    const flipped = (v.slug[0] === "a" ? "b" : "a") + v.slug.slice(1);
    expect(userSlug(v.sub)).not.toBe(flipped);
    expect(userSlug(`${v.sub} `)).not.toBe(v.slug);
  });
});

describe("names that are not ours", () => {
  it.each([
    ["a slug of the wrong length", "oh-app-abcdefghijklmno"],
    ["upper case", "oh-app-ABCDEFGHIJKLMNOP"],
    ["base32 digits outside 2-7", "oh-app-abcdefghijklmn01"],
    ["a suffix after the app name", "oh-app-abcdefghijklmnop-x"],
    ["an empty sandbox id", "oh-sbx-abcdefghijklmnop-"],
    ["a sandbox id starting with a dot", "oh-sbx-abcdefghijklmnop-.x"],
    ["a sandbox id longer than the limit", `oh-sbx-abcdefghijklmnop-${"a".repeat(129)}`],
    ["a path", "../oh-app-abcdefghijklmnop"],
    ["not a string", 42],
  ])("GIVEN %s THEN roleOfContainer says nobody owns it", (_what, name) => {
    expect(roleOfContainer(name)).toBeUndefined();
  });

  it("GIVEN network names that are not a user's THEN no owner", () => {
    for (const name of ["oh-u-abc", "bridge", "oh-u-abcdefghijklmnopq", "oh-u-ABCDEFGHIJKLMNOP", undefined])
      expect(ownerOfNetwork(name)).toBeUndefined();
  });

  it("GIVEN a host port, slug and domain THEN the runtime host is <port>-<slug>.<domain>", () => {
    expect(runtimeHostName(40123, "45k4wvxolruzmox6", "runtime.example.com")).toBe("40123-45k4wvxolruzmox6.runtime.example.com");
  });
});
