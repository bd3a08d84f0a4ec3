// Paths carried in our own cookies (login, runtime state): deflated and base64url, so that long deep links fit.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { MAX_RETURN_PATH_LENGTH } from "./return-path";

export function packPath(path: string): string {
  return deflateRawSync(Buffer.from(path, "utf8"), { level: 9 }).toString("base64url");
}

/** The path, or undefined for anything malformed; a deflate bomb stops at the longest path there can be. */
export function unpackPath(packed: string | undefined): string | undefined {
  if (!packed || !/^[A-Za-z0-9_-]+$/.test(packed)) return undefined;
  try {
    return inflateRawSync(Buffer.from(packed, "base64url"), { maxOutputLength: MAX_RETURN_PATH_LENGTH }).toString("utf8");
  } catch {
    return undefined;
  }
}
