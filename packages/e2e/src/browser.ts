/**
 * Headless Chromium (Debian's package) driven by playwright-core: a fresh profile per user, every name of the
 * test domain resolved to the edge harness on loopback, and screenshots of the main steps kept as artifacts.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { readEnvironment } from "./environment";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface UserBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Saves `<artifacts>/<nn>-<step>.png`, numbered in the order taken. */
  screenshot(step: string): Promise<void>;
  close(): Promise<void>;
}

let shot = 0;

/**
 * @param hostResolverRules e.g. `MAP openhands.e2e.test 127.0.0.1:41234, MAP *.runtime.e2e.test 127.0.0.1:41234`;
 *   Chromium still sends the original host name (and the default port), so the edge sees what CloudFront would.
 */
export async function openBrowser(name: string, hostResolverRules: string, artifactsDir: string): Promise<UserBrowser> {
  const executablePath = readEnvironment().chromiumPath;
  if (!existsSync(executablePath))
    throw new Error(
      `Chromium not found at ${executablePath}: install the Debian package chromium (scripts/install-test-deps.sh) or set CHROMIUM_PATH`,
    );
  const profile = mkdtempSync(join(tmpdir(), `e2e-chromium-${name}-`));
  const rules = hostResolverRules;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    // The edge harness serves TLS with a throwaway certificate: the cookies are `Secure` and `__Host-`.
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 800 },
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=${rules}`, "--ignore-certificate-errors"],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(artifactsDir, { recursive: true });
  return {
    context,
    page,
    async screenshot(step: string) {
      shot += 1;
      await page.screenshot({ path: join(artifactsDir, `${String(shot).padStart(2, "0")}-${name}-${step}.png`), fullPage: true });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
