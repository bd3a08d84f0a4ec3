import { inflateSync } from "node:zlib";
import { LOGIN_PAGE_CSS } from "../../src/constructs/identity/user-directory";
import { loginLogoPng } from "../../src/constructs/identity/login-logo";
import { configProblems, exampleConfig, onlyOf, synthAuthOnly } from "../support/template";

/** Width, height and the pixels set (palette index 1) of a PNG written by loginLogoPng. */
function decode(png: Buffer): { width: number; height: number; ink: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const at = png.indexOf("IDAT");
  const raw = inflateSync(png.subarray(at + 4, at + 4 + png.readUInt32BE(at - 4)));
  expect(raw.length).toBe(height * (width + 1));
  return { width, height, ink: raw.filter((byte, i) => i % (width + 1) !== 0 && byte === 1).length };
}

describe(
  "GIVEN the example configuration WHEN the auth stack is synthesized " + "THEN the hosted login page carries the deployment's name",
  () => {
    const stack = synthAuthOnly(exampleConfig());
    const branding = onlyOf(stack, "aws_cognito_user_pool_ui_customization");

    it("THEN the pool's login page (all clients) gets a logo image and the pages' colours, after the domain exists", () => {
      expect(branding.client_id).toBeUndefined();
      expect(branding.user_pool_id).toMatch(/aws_cognito_user_pool\.users_pool_/);
      expect(branding.css).toBe(LOGIN_PAGE_CSS);
      expect(branding.depends_on).toEqual([expect.stringMatching(/^aws_cognito_user_pool_domain\.users_prefix-domain_/)]);
    });

    it("THEN the logo is the configured display name drawn as a PNG (the same bytes at every synth, under Cognito's 100 KB)", () => {
      const png = Buffer.from(branding.image_file as string, "base64");
      expect(png.length).toBeLessThan(100 * 1024);
      expect(png).toEqual(loginLogoPng("Example OpenHands"));
      const { width, height, ink } = decode(png);
      expect(width).toBe(("Example OpenHands".length * 6 - 1 + 4) * 4);
      expect(height).toBe(11 * 4);
      expect(ink).toBeGreaterThan(500);
    });

    it("THEN without a display name the logo says OpenHands and the deployment's name", () => {
      const plain = onlyOf(synthAuthOnly(exampleConfig((raw) => delete raw.cognito.displayName)), "aws_cognito_user_pool_ui_customization");
      expect(Buffer.from(plain.image_file as string, "base64")).toEqual(loginLogoPng("OpenHands openhands"));
    });
  },
);

describe("GIVEN display names and logo texts", () => {
  it("WHEN a display name holds markup, quotes or more than 32 characters THEN the configuration names the field and the fix", () => {
    for (const bad of ["<b>Acme</b>", 'Acme "team"', "x".repeat(33), ""]) {
      expect(configProblems((raw) => (raw.cognito.displayName = bad))).toEqual([
        expect.stringMatching(/cognito\.displayName.*1-32 letters, digits, spaces, dots or hyphens/),
      ]);
    }
  });

  it("WHEN two texts differ THEN their images differ, and letters are drawn the same in either case", () => {
    expect(loginLogoPng("Acme")).not.toEqual(loginLogoPng("Acne"));
    expect(loginLogoPng("acme")).toEqual(loginLogoPng("ACME"));
    expect(() => loginLogoPng("emoji 🙂")).toThrow(/not 1-32 letters/);
    expect(() => loginLogoPng("ok", "red")).toThrow(/not a #rrggbb colour/);
  });
});
