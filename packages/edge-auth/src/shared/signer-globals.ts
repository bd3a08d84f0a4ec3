// The globals aws4fetch's AwsV4Signer uses, for the bundles (esbuild `inject`, build/bundle.mjs), so that a cold start loads
// neither undici (Node's `Headers`, 15-300 ms) nor WebCrypto (async jobs on the libuv thread pool, several ms on first use).
// Only the signer refers to these names in the bundles; each covers exactly what it calls, with WHATWG/WebCrypto semantics.
// The SSM stand-in checks every signature with its own implementation, and bundle.test.ts runs the bundle against it.
import { createHash, createHmac } from "node:crypto";

class Headers {
  private readonly map = new Map<string, string>();

  constructor(init?: Record<string, string>) {
    for (const [name, value] of Object.entries(init ?? {})) this.set(name, value);
  }

  get(name: string): string | null {
    return this.map.get(name.toLowerCase()) ?? null;
  }

  set(name: string, value: string): void {
    this.map.set(name.toLowerCase(), String(value).trim());
  }

  has(name: string): boolean {
    return this.map.has(name.toLowerCase());
  }

  delete(name: string): void {
    this.map.delete(name.toLowerCase());
  }

  /** Sorted, as WHATWG Headers iterate. */
  keys(): IterableIterator<string> {
    return [...this.map.keys()].sort()[Symbol.iterator]();
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const name of this.keys()) callback(this.map.get(name)!, name);
  }
}

type HmacKey = { readonly raw: Uint8Array };
const bytes = (data: ArrayBuffer | ArrayBufferView) =>
  ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
const arrayBuffer = (buffer: Buffer): ArrayBuffer => Uint8Array.from(buffer).buffer;

function hmacSha256Only(algorithm: { name?: string; hash?: { name?: string } | string }): void {
  const hash = typeof algorithm.hash === "string" ? algorithm.hash : algorithm.hash?.name;
  if (algorithm.name !== "HMAC" || (hash !== undefined && hash !== "SHA-256"))
    throw new Error(`signer globals: only HMAC SHA-256 (got ${JSON.stringify(algorithm)})`);
}

/** `crypto.subtle` for SigV4: raw HMAC-SHA256 keys, HMAC sign, SHA-256 digest (node:crypto, synchronous, resolved promises). */
const crypto = {
  subtle: {
    async importKey(
      format: string,
      keyData: ArrayBuffer | ArrayBufferView,
      algorithm: { name?: string; hash?: { name?: string } | string },
    ): Promise<HmacKey> {
      if (format !== "raw") throw new Error(`signer globals: only raw keys (got ${format})`);
      hmacSha256Only(algorithm);
      return { raw: Uint8Array.from(bytes(keyData)) };
    },
    async sign(algorithm: string | { name?: string }, key: HmacKey, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
      hmacSha256Only(typeof algorithm === "string" ? { name: algorithm } : algorithm);
      return arrayBuffer(createHmac("sha256", key.raw).update(bytes(data)).digest());
    },
    async digest(algorithm: string | { name?: string }, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
      const name = typeof algorithm === "string" ? algorithm : algorithm.name;
      if (name !== "SHA-256") throw new Error(`signer globals: only SHA-256 (got ${name})`);
      return arrayBuffer(createHash("sha256").update(bytes(data)).digest());
    },
  },
};

export { Headers, crypto };
