import { createHash } from "node:crypto";
import { modelLimitMessage, PAGE_LAYOUT, PAGE_STYLE, pageStyleSource, renderPage } from "../src/pages";

describe("GIVEN the pages' shared look", () => {
  it("WHEN a page is rendered THEN the title is escaped, the stylesheet is inlined once, and no slot is left", () => {
    const html = renderPage({ title: "<b>x</b> & y", main: "<h1>Hi</h1>", head: '<meta name="x">' });
    expect(html).toContain("<title>&#60;b&#62;x&#60;/b&#62; &#38; y</title>");
    expect(html.split("<style>")).toHaveLength(2);
    expect(html).toContain(`<style>${PAGE_STYLE}</style>`);
    expect(html).toContain('<meta name="x">');
    expect(html).not.toMatch(/\{\{\w+\}\}/);
  });

  it("WHEN a caller's content holds a slot name or a $ pattern THEN it stays text (one pass over the layout)", () => {
    const html = renderPage({ title: "t", main: "{{style}} $& $1" });
    expect(html).toContain('<main><p class="site">OpenHands</p>{{style}} $& $1</main>');
  });

  it("WHEN the CSP source is computed THEN it is the SHA-256 of the stylesheet, so the inline style and nothing else applies", () => {
    expect(pageStyleSource()).toBe(`'sha256-${createHash("sha256").update(PAGE_STYLE).digest("base64")}'`);
  });

  it("WHEN the stylesheet and layout are read THEN they load nothing from elsewhere and have a dark scheme", () => {
    expect(PAGE_STYLE + PAGE_LAYOUT).not.toMatch(/url\(|@import|https?:|<script|<link/);
    expect(PAGE_STYLE).toContain("@media (prefers-color-scheme:dark)");
  });

  it("WHEN a model limit is reached THEN the words say which limit and when it resets, in UTC", () => {
    expect(modelLimitMessage("tokens per minute", new Date("2026-12-02T14:05:30Z"))).toBe(
      "You have used your tokens per minute for now. It resets at 14:05 UTC; your conversations are kept and you can go on then.",
    );
  });
});
