// Small pieces: signed values, cookies, hosts, return paths, single use.
import { classifyHost, normalizeHost } from "../src/shared/hosts";
import {
  clearEverywhere,
  matchingPaths,
  parentDomains,
  parseCookies,
  readCookies,
  stripOurCookies,
  setCookie,
  isOurCookie,
} from "../src/shared/cookies";
import { runtimeIsSameSite } from "../src/viewer-request/gate";
import { safeReturnPath } from "../src/shared/return-path";
import { seal, unseal, safeEqual } from "../src/shared/signed";
import { isNavigation } from "../src/shared/http";
import { UsedOnce } from "../src/viewer-request/used-once";
import { cfRequest } from "./support/events";

const key = Buffer.alloc(32, 7);
const config = { appHost: "oh.example.test", runtimeDomain: "runtime.example.test" };

describe("signed values", () => {
  it("GIVEN a sealed value THEN it opens with the same key and purpose only", () => {
    const value = seal(key, "a", { x: 1 });
    expect(unseal(key, "a", value)).toEqual({ x: 1 });
    expect(unseal(key, "b", value)).toBeUndefined();
    expect(unseal(Buffer.alloc(32, 8), "a", value)).toBeUndefined();
  });

  it("GIVEN malformed input THEN undefined, never a throw", () => {
    for (const bad of [undefined, "", ".", "a.b.c", "x".repeat(4000), `${Buffer.from("[1]").toString("base64url")}.x`])
      expect(unseal(key, "a", bad)).toBeUndefined();
    const notJson = `${Buffer.from("{nope").toString("base64url")}`;
    const { hmacBase64url } = jest.requireActual("../src/shared/signed");
    expect(unseal(key, "a", `${notJson}.${hmacBase64url(key, `a\n${notJson}`)}`)).toBeUndefined();
    const array = Buffer.from("[1]").toString("base64url");
    expect(unseal(key, "a", `${array}.${hmacBase64url(key, `a\n${array}`)}`)).toBeUndefined();
    expect(safeEqual("a", "ab")).toBe(false);
  });
});

describe("cookies", () => {
  it("GIVEN several Cookie headers, quotes and junk THEN the first value of each name", () => {
    const cookies = parseCookies(cfRequest({ headers: { Cookie: ['a=1; b="2"; =x; junk; a=3', "c=4"] } }).headers);
    expect([...cookies]).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", "4"],
    ]);
  });

  it("GIVEN our cookie names THEN they are ours in any case; others are not", () => {
    expect(isOurCookie("__Host-oh-session")).toBe(true);
    expect(isOurCookie("__host-OH-x")).toBe(true);
    expect(isOurCookie("__Secure-oh-refresh")).toBe(true);
    expect(isOurCookie("oh-session")).toBe(false);
    const headers = cfRequest({ headers: { Cookie: ["__Host-oh-a=1; keep=2;; flag", "__secure-oh-b=3"] } }).headers;
    stripOurCookies(headers);
    expect(headers.cookie).toEqual([{ key: "Cookie", value: "keep=2; flag" }]);
  });

  it("GIVEN one of our names twice, or a stranger in our family THEN neither value is read and the names are hostile", () => {
    const { values, hostile } = readCookies(
      cfRequest({
        headers: {
          Cookie: ["__Host-oh-session=a; x=1; __Secure-oh-refresh=r", "__Host-oh-session=b; __HOST-oh-login=l; __Host-oh-runtime=ok"],
        },
      }).headers,
    );
    expect(values.get("__Host-oh-session")).toBeUndefined();
    expect(values.get("__Host-oh-runtime")).toBe("ok");
    expect([...hostile].sort()).toEqual(["__HOST-oh-login", "__Host-oh-session", "__Secure-oh-refresh"]);
    // Only SP and HTAB surround a name; a name led by other white space is another cookie.
    expect(readCookies(cfRequest({ headers: { Cookie: "\u00a0__Host-oh-session=a" } }).headers).values.has("__Host-oh-session")).toBe(
      false,
    );
  });

  it("GIVEN a host and a path THEN the Domain and Path values a received cookie can carry", () => {
    expect(parentDomains("40123-abc.runtime.example.test")).toEqual([
      "40123-abc.runtime.example.test",
      "runtime.example.test",
      "example.test",
    ]);
    expect(matchingPaths("/_auth/refresh")).toEqual(["/", "/_auth", "/_auth/", "/_auth/refresh"]);
    expect(matchingPaths("/a/")).toEqual(["/", "/a", "/a/"]);
    expect(matchingPaths("/a/b/c/d/e/f/g/h").length).toBeLessThanOrEqual(7);
    const lines = clearEverywhere(["__Host-oh-x", "t"], "oh.example.test", "/a");
    expect(lines.filter((l) => l.startsWith("__Host-oh-x=")).length).toBe(6);
    expect(lines.filter((l) => l.startsWith("t="))).toEqual([
      "t=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
      "t=; Domain=oh.example.test; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
      "t=; Domain=example.test; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
      "t=; Path=/a; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
      "t=; Domain=oh.example.test; Path=/a; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
      "t=; Domain=example.test; Path=/a; Max-Age=0; Secure; HttpOnly; SameSite=Lax",
    ]);
    // Browsers accept names such as `x[1]` or `a b`; those are written back. Non-ASCII names cannot be and are left out.
    expect(clearEverywhere(["x[1]", "a b", "\u00a0x", "c=d"], "oh.example.test", "/").map((l) => l.split("=")[0])).toEqual([
      "x[1]",
      "x[1]",
      "x[1]",
      "a b",
      "a b",
      "a b",
    ]);
  });

  it("GIVEN a cookie THEN it is host-only, Secure and HttpOnly", () => {
    expect(setCookie("n", "v", { maxAgeSeconds: -5 })).toBe("n=v; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax");
  });
});

describe("hosts", () => {
  it("GIVEN host headers THEN classified strictly", () => {
    expect(normalizeHost("OH.Example.Test:443")).toBe("oh.example.test");
    expect(normalizeHost(" oh.example.test ")).toBe("");
    expect(normalizeHost("a_b.test")).toBe("");
    expect(normalizeHost(undefined)).toBe("");
    expect(classifyHost("oh.example.test", config).kind).toBe("app");
    expect(classifyHost("1-abcdefghijklmnop.runtime.example.test", config)).toEqual({
      kind: "runtime",
      host: "1-abcdefghijklmnop.runtime.example.test",
      port: 1,
      slug: "abcdefghijklmnop",
    });
    expect(classifyHost("1-abcdefghijklmnop.runtime.example.test.evil", config).kind).toBe("unknown");
    expect(classifyHost("1-abcdefghijklmnopruntime.example.test", config).kind).toBe("unknown");
  });
});

describe("runtime domain and app on one site", () => {
  it.each([
    ["oh.example.test", "runtime.example.test", true],
    ["example.com", "runtime.example.com", true],
    ["app.example.co.uk", "rt.example.co.uk", true],
    ["app.example.com", "example-runtime.net", false],
    ["oh.foo.co.uk", "rt.bar.co.uk", false],
    ["oh.foo.com.au", "rt.bar.com.au", false],
    ["a.example.com", "b.example.org", false],
  ])("GIVEN %s and %s THEN same-site is %s", (app, runtime, expected) => {
    expect(runtimeIsSameSite(app, runtime)).toBe(expected);
  });
});

describe("return paths", () => {
  const origin = "https://oh.example.test";
  it.each([
    ["/conversations/1?x=1", "/conversations/1?x=1"],
    ["/a/../b", "/b"],
    ["/%2F%2Fevil", "/%2F%2Fevil"],
    [undefined, "/"],
    ["", "/"],
    [`/${"a".repeat(3000)}`, `/${"a".repeat(3000)}`],
    [`/${"a".repeat(9000)}`, "/"],
    ["/x#frag", "/x"],
    ["/..//evil", "/"],
  ])("GIVEN %j THEN %j", (raw, expected) => {
    expect(safeReturnPath(raw, origin)).toBe(expected);
  });
});

describe("navigation detection", () => {
  it("GIVEN HEAD with navigate THEN a navigation; POST never", () => {
    expect(isNavigation(cfRequest({ method: "HEAD", headers: { "Sec-Fetch-Mode": "navigate" } }))).toBe(true);
    expect(isNavigation(cfRequest({ method: "POST", headers: { "Sec-Fetch-Mode": "navigate" } }))).toBe(false);
  });
});

describe("UsedOnce", () => {
  it("GIVEN a value THEN spent once until it expires, and the oldest go beyond capacity", () => {
    const used = new UsedOnce(2);
    expect(used.spend("a", 10, 0)).toBe(true);
    expect(used.spend("a", 10, 5)).toBe(false);
    expect(used.spend("a", 20, 11)).toBe(true);
    used.spend("b", 30, 11);
    used.spend("c", 30, 11);
    expect(used.spend("a", 30, 12)).toBe(true);
  });
});
