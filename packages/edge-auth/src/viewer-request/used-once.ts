/**
 * Values already spent in this container (login nonces, ticket ids), kept until they expire. Bounded: the oldest go first.
 * It narrows replay inside one container; the signed state/nonce cookies are what bind a flow to one browser.
 */
export class UsedOnce {
  private readonly entries = new Map<string, number>();

  constructor(private readonly capacity = 10_000) {}

  /** True the first time `key` is seen (until `expiresAt`, unix seconds), false on a replay. */
  spend(key: string, expiresAt: number, now: number): boolean {
    const known = this.entries.get(key);
    if (known !== undefined && known >= now) return false;
    this.entries.delete(key);
    this.entries.set(key, expiresAt);
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return true;
  }
}
