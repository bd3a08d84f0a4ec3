/**
 * No secret value anywhere in cdktf.out: every file of every stack (Terraform JSON, assets, the host bundle
 * inside its zip) is scanned for private keys, AWS keys, credential assignments and high-entropy strings,
 * and the secret resources are checked for values. The scanner is first shown to catch planted secrets.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { exampleConfig, synthDeployment, withEveryOption, type Json } from "../support/template";

/** Base64/base64url/hex runs long enough to be keys. */
const CANDIDATE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;
const PATTERNS: readonly [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "AWS access key id"],
  [/"(password|master_password|secret_string|secret_binary|api_key|client_secret)"\s*:\s*"[^"$]/i, "secret attribute with a literal value"],
  [/(identitySigningKey|ticketKey|nonceKey|clientSecret)"?\s*[:=]\s*"?[A-Za-z0-9_-]{16,}/, "edge key with a value"],
];

/** Shannon entropy in bits per character. */
function entropy(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) bits -= (n / text.length) * Math.log2(n / text.length);
  return bits;
}

/** Terraform and cdktf names: lower-case words, digits and 8-digit hashes joined by - _ . */
const IDENTIFIER = /^([a-z0-9]+|[A-F0-9]{8}|[A-F0-9]{8}[a-z_]+|[A-Z][a-z]+)([-_.]([a-z0-9]+|[A-F0-9]{8}[a-z_]*|[A-Z][a-z]+))*$/;
/** Alphabets written out (base64 tables in code), not keys. */
const ALPHABET = /ABCDEFGHIJ|abcdefghij|0123456789/;

/** A run that looks random: high entropy, mixed classes, not a hex digest (hashes of public content are fine). */
function looksRandom(run: string): boolean {
  if (/^[0-9a-f]+$/.test(run) || IDENTIFIER.test(run) || ALPHABET.test(run)) return false;
  if (/^[A-Za-z_-]+$/.test(run)) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((c) => c.test(run)).length;
  return classes === 3 && entropy(run) > 4.2;
}

/**
 * Findings in one text: pattern names and suspicious runs. The entropy test is skipped for bundled
 * JavaScript (the edge functions' minified code is dense by nature); the patterns still apply to it.
 */
function scanText(text: string, entropyCheck = true): string[] {
  const found = PATTERNS.filter(([p]) => p.test(text)).map(([, name]) => name);
  if (entropyCheck)
    for (const run of text.match(CANDIDATE) ?? []) if (looksRandom(run)) found.push(`high-entropy string ${run.slice(0, 6)}...`);
  return found;
}

/** The entries of a zip (stored or deflated), read through its central directory. */
function zipEntries(zip: Buffer): { name: string; data: Buffer }[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error("not a zip archive");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString("utf8");
    const local = zip.readUInt32LE(at + 42);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const body = zip.subarray(start, start + size);
    if (!name.endsWith("/")) entries.push({ name, data: method === 8 ? inflateRawSync(body) : body });
    at += 46 + skip;
  }
  return entries;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => (statSync(join(dir, e)).isDirectory() ? files(join(dir, e)) : [join(dir, e)]));
}

/** Attributes that hold file paths in cdktf.out (content-addressed folders), not values. */
const PATH_ATTRIBUTES = new Set(["//", "source", "filename", "source_dir"]);
/** Attributes that hold public images (the login page's logo, base64 PNG of the deployment's name), not values. */
const IMAGE_ATTRIBUTES = new Set(["image_file"]);

/**
 * The string values of Terraform JSON, without keys (resource and output names) and without the
 * interpolations inside them (references are names, not values); everything else stays scanned.
 */
function terraformValues(node: unknown, out: string[] = []): string[] {
  if (typeof node === "string") out.push(node.replace(/\$\{[^}]*\}/g, "${ref}"));
  else if (Array.isArray(node)) for (const item of node) terraformValues(item, out);
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node))
      if (!PATH_ATTRIBUTES.has(key) && !IMAGE_ATTRIBUTES.has(key)) terraformValues(value, out);
  }
  return out;
}

/** Every text in the output folder, with where it came from. */
function texts(outdir: string): { where: string; text: string; entropy?: boolean }[] {
  return files(outdir).flatMap((file) => {
    const data = readFileSync(file);
    if (file.endsWith(".zip")) return zipEntries(data).map((e) => ({ where: `${file}!${e.name}`, text: e.data.toString("utf8") }));
    if (file.endsWith(".tf.json")) {
      const raw = data.toString("utf8");
      // Patterns run over the whole file (a literal "secret_string" key counts); entropy over values only.
      return [
        { where: `${file} (raw)`, text: raw, entropy: false },
        { where: file, text: terraformValues(JSON.parse(raw)).join("\n") },
      ];
    }
    return [{ where: file, text: data.toString("utf8") }];
  });
}

describe("GIVEN the secret scanner", () => {
  it("WHEN secrets are planted THEN it finds each kind", () => {
    expect(scanText(`{"secret_string": "hunter2"}`)).toContain("secret attribute with a literal value");
    expect(scanText("-----BEGIN OPENSSH PRIVATE KEY-----")).toContain("private key");
    expect(scanText("key AKIAIOSFODNN7EXAMPLE")).toContain("AWS access key id");
    expect(scanText(`"identitySigningKey":"${randomBytes(32).toString("base64url")}"`)).toContain("edge key with a value");
    expect(scanText(`x = "${randomBytes(32).toString("base64")}"`).some((f) => f.startsWith("high-entropy"))).toBe(true);
  });

  it("WHEN text is ordinary Terraform THEN it stays quiet", () => {
    expect(
      scanText(
        '{"name": "${aws_secretsmanager_secret.secrets_identity-signing-key_CA36EACB.arn}", "hash": ' +
          '"bb1a9e3dff76fb4313e8e047a8ee2cb481306120d9fa06af60248e2a333653e1"}',
      ),
    ).toEqual([]);
  });
});

describe.each([
  ["the example configuration", exampleConfig()],
  ["every optional resource on", exampleConfig(withEveryOption)],
])("GIVEN %s synthesized", (_label, config) => {
  const synth = synthDeployment(config);
  const all = texts(synth.outdir);

  it("THEN no file in cdktf.out (nor in the host bundle zip) holds secret material", () => {
    expect(all.length).toBeGreaterThan(6);
    expect(all.some((t) => t.where.includes(".zip!"))).toBe(true);
    const findings = all.flatMap(({ where, text, entropy }) =>
      scanText(text, entropy !== false && !/\.(m?js|map)$/.test(where)).map((f) => `${where.slice(synth.outdir.length)}: ${f}`),
    );
    expect(findings).toEqual([]);
  });

  it("THEN secrets are containers only: no secret version, no value on any secret or SecureString", () => {
    for (const id of ["network", "data", "compute", "monitoring"] as const) {
      const resources = (synth.stack(id).resource ?? {}) as Json;
      expect(resources.aws_secretsmanager_secret_version).toBeUndefined();
      for (const secret of Object.values((resources.aws_secretsmanager_secret ?? {}) as Json)) expect(secret.secret_string).toBeUndefined();
      for (const p of Object.values((resources.aws_ssm_parameter ?? {}) as Json))
        expect(p.type === "SecureString" ? p.value : "none").toBe("none");
    }
  });
});
