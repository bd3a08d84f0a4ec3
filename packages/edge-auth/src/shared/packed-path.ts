// Paths inside signed values (login cookie, runtime state): as is when short, deflated when that is shorter, so that long
// deep links fit in one cookie.
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { MAX_RETURN_PATH_LENGTH } from "./return-path";

export type PackedPath = { readonly r: string } | { readonly z: string };

export function packPath(path: string): PackedPath {
  if (path.length < 256) return { r: path };
  const z = deflateRawSync(Buffer.from(path, "utf8"), { level: 9 }).toString("base64url");
  return z.length < path.length ? { z } : { r: path };
}

/** The path a signed payload carries, or undefined; a deflate bomb stops at the longest path there can be. */
export function unpackPath(payload: Record<string, unknown>): string | undefined {
  if (typeof payload.r === "string") return payload.r;
  if (typeof payload.z !== "string") return undefined;
  try {
    return inflateRawSync(Buffer.from(payload.z, "base64url"), { maxOutputLength: MAX_RETURN_PATH_LENGTH }).toString("utf8");
  } catch {
    return undefined;
  }
}
