/** A user slug as DESIGN.md derives it: 16 characters of lower-case RFC 4648 base32. */
export const SLUG_PATTERN = /^[a-z2-7]{16}$/;

export function isUserSlug(value: string): boolean {
  return SLUG_PATTERN.test(value);
}
