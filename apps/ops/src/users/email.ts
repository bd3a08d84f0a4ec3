import { UsageError } from "./errors";

// WHATWG's valid e-mail address (the form browsers accept in <input type=email>), with a dot in the domain.
const LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * The e-mail address an operator typed, checked and lower-cased (the pool's usernames are case-insensitive, and
 * the edge signs the address into every request's identity, so one spelling per person keeps logs consistent).
 */
export function parseEmail(raw: string | undefined): string {
  if (raw === undefined || raw === "") throw new UsageError("an e-mail address is required (for example: pnpm users add ada@example.com)");
  const email = raw.trim().toLowerCase();
  const at = email.lastIndexOf("@");
  const local = email.slice(0, at);
  const labels = email.slice(at + 1).split(".");
  // A line break or other control character would shift the fields of the identity the edge signs ("v1\nhost\nsub\n...").
  const wellFormed = email.length <= 254 && at > 0 && LOCAL.test(local) && labels.length >= 2 && labels.every((label) => LABEL.test(label));
  if (!wellFormed) {
    throw new UsageError(`${JSON.stringify(raw)} is not an e-mail address (expected name@domain.tld, no spaces or quotes)`);
  }
  return email;
}
