import { randomInt } from "node:crypto";

const LOWER = "abcdefghijkmnpqrstuvwxyz";
const UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS = "23456789";
// Symbols from Cognito's accepted set that need no quoting in a shell or a chat message.
const SYMBOLS = "-_!@#%^+=?";
const ALL = LOWER + UPPER + DIGITS + SYMBOLS;

/**
 * A temporary password that satisfies the pool's policy (12 or more characters with a lower-case letter, an
 * upper-case letter, a digit and a symbol), from the operating system's CSPRNG. Look-alikes (l, 1, I, O, 0, o)
 * are left out because people type it from a message.
 */
export function temporaryPassword(length = 20): string {
  if (length < 12) throw new Error(`temporaryPassword: length ${length} is below the pool's minimum of 12`);
  const chars = [LOWER, UPPER, DIGITS, SYMBOLS].map(pick);
  while (chars.length < length) chars.push(pick(ALL));
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join("");
}

function pick(alphabet: string): string {
  return alphabet[randomInt(alphabet.length)] as string;
}
