// Return paths after login, refresh and runtime hand-off: same host, path and query only.

/** CloudFront's longest URL: no request path can be longer. */
export const MAX_RETURN_PATH_LENGTH = 8192;

/**
 * The path (with query) to send the browser back to on `origin`, or "/" when `raw` is anything but a plain path there.
 * Open redirect: `https://evil`, `//evil`, `/\evil`, `/\t/evil`, `HTTPS://evil` and their encodings all end at "/".
 */
export function safeReturnPath(raw: unknown, origin: string): string {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_RETURN_PATH_LENGTH) return "/";
  // Only a path: no scheme, no authority (`//host`), no backslash that browsers read as a slash.
  if (!raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return "/";
  // Control characters (tabs and newlines are dropped by URL parsers, turning `/\t/evil` into `//evil`).
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters and spaces are what header and redirect smuggling use.
  if (/[\x00-\x20\x7f]/.test(raw)) return "/";
  let parsed: URL;
  try {
    parsed = new URL(raw, origin);
  } catch {
    return "/";
  }
  if (parsed.origin !== origin) return "/";
  const path = `${parsed.pathname}${parsed.search}`;
  return path.startsWith("//") ? "/" : path;
}

/** The path with its query dropped: a shorter safe place to land when a deep link cannot be carried whole. */
export function withoutQuery(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}
