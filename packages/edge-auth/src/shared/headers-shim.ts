// The global `Headers` for the bundles (esbuild `inject`, build/bundle.mjs): Node's own is undici's, and touching it loads
// undici, 15-300 ms of a cold start. Only aws4fetch's AwsV4Signer uses it, through get/set/has/delete/keys/forEach on a
// plain-object init; this covers exactly the WHATWG semantics it relies on (case-insensitive names, one value per name).
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

export { Headers };
