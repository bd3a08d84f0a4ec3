/**
 * A JSON parser for bodies bound for dockerd that refuses what JSON.parse hides.
 *
 * dockerd's Go decoder takes the LAST of two equal keys, and matches struct fields case-insensitively
 * (with Unicode folding: "ſ" is "s", the Kelvin sign is "k"). JSON.parse also keeps only the last of two
 * equal keys, so a review of JSON.parse's result never sees the first. This parser therefore refuses
 * any object with a key twice (after decoding escapes), and any body that is not valid UTF-8. Objects
 * come back with a null prototype, so "__proto__" is an ordinary (and refused-by-review) key.
 */

export class StrictJsonError extends Error {
  override name = "StrictJsonError";
}

const MAX_DEPTH = 64;

/** Parses `input` (bytes or text) strictly; throws StrictJsonError with the reason and offset. */
export function parseStrictJson(input: Buffer | string): unknown {
  let text: string;
  if (typeof input === "string") text = input;
  else {
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      throw new StrictJsonError("the body is not valid UTF-8");
    }
  }
  let at = 0;
  const fail = (message: string): never => {
    throw new StrictJsonError(`${message} at offset ${at}`);
  };
  const space = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at += 1;
      else break;
    }
  };
  const string = (): string => {
    if (text[at] !== '"') fail("expected a string");
    at += 1;
    let out = "";
    for (;;) {
      if (at >= text.length) fail("unterminated string");
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        at += 1;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c !== 0x5c) {
        out += text[at];
        at += 1;
        continue;
      }
      const e = text[at + 1];
      at += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = text.slice(at, at + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("bad \\u escape");
          out += String.fromCharCode(parseInt(hex, 16));
          at += 4;
          break;
        }
        default:
          fail("bad escape");
      }
    }
  };
  const number = (): number => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 400));
    if (!match) fail("bad number");
    at += match![0].length;
    return Number(match![0]);
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail("nested too deeply");
    space();
    const c = text[at];
    if (c === "{") {
      at += 1;
      const object: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      const seen = new Set<string>();
      space();
      if (text[at] === "}") {
        at += 1;
        return object;
      }
      for (;;) {
        space();
        const key = string();
        // Duplicate keys: dockerd keeps the last, a review may have looked at the first.
        if (seen.has(key)) fail(`duplicate key ${JSON.stringify(key.slice(0, 100))}`);
        seen.add(key);
        space();
        if (text[at] !== ":") fail("expected ':'");
        at += 1;
        object[key] = value(depth + 1);
        space();
        if (text[at] === ",") {
          at += 1;
          continue;
        }
        if (text[at] === "}") {
          at += 1;
          return object;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at += 1;
      const array: unknown[] = [];
      space();
      if (text[at] === "]") {
        at += 1;
        return array;
      }
      for (;;) {
        array.push(value(depth + 1));
        space();
        if (text[at] === ",") {
          at += 1;
          continue;
        }
        if (text[at] === "]") {
          at += 1;
          return array;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (text.startsWith("true", at)) {
      at += 4;
      return true;
    }
    if (text.startsWith("false", at)) {
      at += 5;
      return false;
    }
    if (text.startsWith("null", at)) {
      at += 4;
      return null;
    }
    return number();
  };
  const result = value(0);
  space();
  if (at !== text.length) fail("unexpected text after the JSON value");
  return result;
}

/**
 * How Go's encoding/json compares a JSON key with a struct field name: case-insensitively, with the
 * Unicode simple folds that land on ASCII (U+017F long s is "s", U+212A Kelvin sign is "k"). Used to name
 * the field a refused key would have reached.
 */
export function goFoldKey(key: string): string {
  return key
    .replace(/\u017f/g, "s")
    .replace(/\u212a/g, "k")
    .toLowerCase();
}
