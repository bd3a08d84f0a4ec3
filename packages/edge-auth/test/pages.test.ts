/**
 * The edge's own pages: the shared look of packages/contracts (the runtime proxy's pages use the same), a CSP that allows exactly their
 * stylesheet, the next step.
 */
import { createHash } from "node:crypto";
import { PAGE_STYLE } from "@openhands-team/contracts";
import type { CloudFrontRequest } from "aws-lambda";
import { confirmPage, page, refuse } from "../src/shared/http";

const header = (result: { headers?: Record<string, Array<{ value: string }>> }, name: string) => result.headers?.[name]?.[0]?.value ?? "";
const navigation = {
  method: "GET",
  uri: "/x",
  querystring: "",
  headers: { "sec-fetch-mode": [{ key: "Sec-Fetch-Mode", value: "navigate" }] },
};

describe("GIVEN the edge's pages", () => {
  it(
    "WHEN a page is built THEN it carries the shared stylesheet, and its CSP " + "allows that stylesheet by hash and nothing inline else",
    () => {
      const result = page(400, "Sign-in failed", "The provider said no.", [], {
        href: "https://openhands.example.test/",
        text: "Sign in again",
      });
      const body = String(result.body);
      const style = /<style>([\s\S]*?)<\/style>/.exec(body)?.[1];
      expect(style).toBe(PAGE_STYLE);
      const csp = header(result, "content-security-policy");
      expect(csp).toContain(`style-src 'sha256-${createHash("sha256").update(style!).digest("base64")}'`);
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain("default-src 'none'");
      expect(body).not.toMatch(/<script|<link|<img|@import|url\(/);
      expect(body).toContain('<a class="button" href="https://openhands.example.test/">Sign in again</a>');
    },
  );

  it("WHEN the text or link holds markup THEN it is escaped (markup injection)", () => {
    const body = String(page(400, "<b>t</b>", "<script>alert(1)</script>", [], { href: '"><script>', text: "<i>x</i>" }).body);
    expect(body).not.toMatch(/<script>|<b>|<i>/);
  });

  it("WHEN another user's runtime is refused to a browser THEN the heading says so in words, with the way back", () => {
    const back = { href: "https://openhands.example.test/", text: "Go back to your OpenHands" };
    const result = refuse(navigation as unknown as CloudFrontRequest, 403, "not_owner", "That runtime belongs to another user.", [], back);
    expect(String(result.body)).toContain("<h1>This workspace belongs to someone else</h1>");
    expect(String(result.body)).toContain("Go back to your OpenHands");
    const api = refuse(
      { ...navigation, headers: {} } as unknown as CloudFrontRequest,
      403,
      "not_owner",
      "That runtime belongs to another user.",
    );
    expect(JSON.parse(String(api.body))).toEqual({ error: "not_owner", message: "That runtime belongs to another user." });
  });

  it("WHEN a confirmation is asked THEN the button is a same-origin form in the same look", () => {
    const result = confirmPage(403, "Sign out?", "Another page asked to sign you out.", "/_auth/logout", "Sign out");
    expect(String(result.body)).toContain(
      '<form class="actions" method="post" action="/_auth/logout"><button class="button" type="submit">Sign out</button></form>',
    );
    expect(header(result, "content-security-policy")).not.toContain("unsafe-inline");
  });
});
