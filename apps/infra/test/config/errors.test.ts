import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/load";
import { closest, editDistance, withArticle } from "../../src/config/wording";
import { DEFAULT_CONFIG } from "../../src/cli-options";

const example = readFileSync(DEFAULT_CONFIG, "utf8");

/** The example's text with `from` (which must occur once) replaced by `to`. */
function edited(...edits: Array<[from: string, to: string]>): string {
  return edits.reduce((text, [from, to]) => {
    expect(text.split(from)).toHaveLength(2);
    return text.replace(from, to);
  }, example);
}

/** 1-based line and column where `needle` starts in `text`. */
function positionOf(text: string, needle: string, from = 0): string {
  const offset = text.indexOf(needle, from);
  expect(offset).toBeGreaterThanOrEqual(0);
  const before = text.slice(0, offset).split("\n");
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

/** Loads `text` from a file and returns the error's printed lines, with the file name replaced by FILE. */
function errorLines(text: string): string[] {
  const file = join(mkdtempSync(join(tmpdir(), "oh-cfg-")), "deploy.yaml");
  writeFileSync(file, text);
  try {
    loadConfig(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split(file).join("FILE").split("\n");
  }
  throw new Error("the configuration was accepted");
}

describe("GIVEN a configuration file with a wrong value", () => {
  it("WHEN a field is invalid THEN the problem starts with file:line:column of the value, then the usual message", () => {
    const text = edited(["  maxSize: 1 ", "  maxSize: 9 "]);
    expect(errorLines(text)).toEqual([
      "FILE: invalid configuration, 1 problem",
      `FILE:${positionOf(text, "9 ")}: config.compute.maxSize: 9 exceeds 2 (expected 1, or 2 to allow a replacement during ` +
        `instance refresh)`,
    ]);
  });

  it("WHEN an item of a list is invalid THEN the position is that item's", () => {
    const text = edited(["    - subnet-0fedcba9876543210", "    - subnet-xyz"]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "subnet-xyz")}: config.network.privateSubnetIds[1]: "subnet-xyz" is not a subnet id (expected ` +
        `subnet- followed by 8 or 17 hex digits)`,
    );
  });

  it("WHEN a required field is missing THEN the position is the key of the section that lacks it", () => {
    const text = edited([
      "  bucket: example-terraform-state       # existing, versioned bucket (see README: state bucket bootstrap)\n",
      "",
    ]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "stateBackend:")}: config.stateBackend.bucket: is required (expected a string; see config/example.yaml)`,
    );
  });

  it("WHEN a cross-field rule fails THEN it points at the field the rule names", () => {
    const text = edited(["  appHost: openhands.example.com", "  appHost: openhands.example.org"]);
    expect(errorLines(text)[1]).toMatch(
      new RegExp(
        `^FILE:${positionOf(text, "openhands.example.org")}: config\\.domain\\.appHost: "openhands\\.example\\.org" is not in the ` +
          `apex domain`,
      ),
    );
  });

  it("WHEN several fields are wrong THEN each has its position, in the order of the file", () => {
    const text = edited(
      ["\nregion: eu-central-1 ", "\nregion: moon-1 "],
      ["  tokenMinutes: 60 ", "  tokenMinutes: 1 "],
      ["  minSize: 1 ", "  minSize: 0.5 "],
    );
    const lines = errorLines(text);
    expect(lines[0]).toBe("FILE: invalid configuration, 3 problems");
    expect(lines.slice(1).map((l) => l.split(": ")[0])).toEqual([
      `FILE:${positionOf(text, "moon-1")}`,
      `FILE:${positionOf(text, "0.5 ")}`,
      `FILE:${positionOf(text, "1 ", text.indexOf("tokenMinutes"))}`,
    ]);
  });

  it("WHEN the file is inside the working folder THEN it is named relative to it, as editors open it", () => {
    const file = join(mkdtempSync(join(process.cwd(), ".oh-cfg-")), "deploy.yaml");
    writeFileSync(file, edited(["  maxSize: 1 ", "  maxSize: 9 "]));
    try {
      expect(() => loadConfig(file)).toThrow(
        new RegExp(`^${relative(process.cwd(), file).replace(/\./g, "\\.")}:\\d+:\\d+: config\\.compute\\.maxSize`, "m"),
      );
    } finally {
      require("node:fs").rmSync(join(file, ".."), { recursive: true, force: true });
    }
  });
});

describe("GIVEN a misspelt key", () => {
  it.each([
    [
      "a nested key in the wrong case",
      ["  instanceType: m7g.xlarge", "  instancetype: m7g.xlarge"],
      "instancetype",
      'config.compute: unknown key "instancetype" (did you mean "instanceType"?)',
    ],
    [
      "a top-level key with two letters swapped",
      ["\nregion: eu-central-1 ", "\nregoin: eu-central-1 "],
      "regoin",
      'config: unknown key "regoin" (did you mean "region"?)',
    ],
    [
      "a key of the chosen state backend form",
      ["  bucket: example", "  bucekt: example"],
      "bucekt",
      'config.stateBackend: unknown key "bucekt" (did you mean "bucket"?)',
    ],
    [
      "a key inside an image",
      ["    tag: 1.34.0-python", "    tags: 1.34.0-python"],
      "tags: 1.34",
      'config.openhands.agentServer: unknown key "tags" (did you mean "tag"?)',
    ],
  ])("WHEN it is %s THEN the error points at the key and suggests the allowed one", (_what, edit, needle, message) => {
    const text = edited(edit as [string, string]);
    expect(errorLines(text)).toContain(`FILE:${positionOf(text, needle)}: ${message}`);
  });

  it("WHEN no allowed key is close THEN the error lists the keys of that level", () => {
    const text = edited(["  sandboxesPerUser: 3 ", "  colour: blue "]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "colour")}: config.users: unknown key "colour" (expected one of idleMinutes, maxRunningApps, ` +
        `maxRunningSandboxes, sandboxesPerUser; remove it or check the spelling against config/example.yaml)`,
    );
  });

  it("WHEN two keys are unknown THEN each has its own line and position", () => {
    const text = edited(["  minSize: 1 ", "  minsize: 1 "], ["  maxSize: 1 ", "  maxsise: 1 "]);
    expect(errorLines(text).slice(1)).toEqual([
      `FILE:${positionOf(text, "minsize")}: config.compute: unknown key "minsize" (did you mean "minSize"?)`,
      `FILE:${positionOf(text, "maxsise")}: config.compute: unknown key "maxsise" (did you mean "maxSize"?)`,
    ]);
  });
});

describe("GIVEN a version that YAML reads as a number", () => {
  it("WHEN an image tag is written 1.7 THEN the error says to quote it", () => {
    const text = edited(["    tag: 1.11.0 ", "    tag: 1.7 "]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "1.7 ")}: config.openhands.app.tag: 1.7 is not a string (expected a string; YAML reads 1.7 as a ` +
        `number: quote it, tag: "1.7")`,
    );
  });

  it("WHEN the number loses a digit (16.10 reads as 16.1) THEN the error shows both", () => {
    const text = edited(['  engineVersion: "16.6"', "  engineVersion: 16.10"]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "16.10")}: config.database.engineVersion: 16.10 is not a string (expected a string; YAML reads ` +
        `16.10 as the number 16.1: quote it, engineVersion: "16.10")`,
    );
  });

  it("WHEN a number is quoted where a number belongs THEN the error says to remove the quotes", () => {
    const text = edited(["  idleMinutes: 60 ", '  idleMinutes: "60" ']);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, '"60"')}: config.users.idleMinutes: "60" is not a number (expected a number; remove the quotes, ` +
        `idleMinutes: 60)`,
    );
  });
});

describe("GIVEN a value of the wrong kind", () => {
  it("WHEN a list is a single value THEN the message reads 'an array'", () => {
    const text = edited(["  allowedCidrs: []  ", "  allowedCidrs: 10.0.0.0/8  "]);
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "10.0.0.0/8")}: config.edge.allowedCidrs: "10.0.0.0/8" is not an array (expected an array)`,
    );
  });

  it("WHEN a section is a single value THEN the message reads 'an object' and points at the section's key", () => {
    const text = edited(["backup:\n  retentionDays: 35", "backup: 35\n "]);
    expect(errorLines(text)[1]).toBe(`FILE:${positionOf(text, "35\n ")}: config.backup: 35 is not an object (expected an object)`);
  });

  it("WHEN a section has nothing under it THEN it is called empty, at its key", () => {
    const text = edited(
      ["users:\n  idleMinutes: 60 ", "users:\n# idleMinutes: 60 "],
      ["  maxRunningApps: 20 ", "# maxRunningApps: 20 "],
      ["  maxRunningSandboxes: 30 ", "# maxRunningSandboxes: 30 "],
      ["  sandboxesPerUser: 3 ", "# sandboxesPerUser: 3 "],
    );
    expect(errorLines(text)[1]).toBe(
      `FILE:${positionOf(text, "users:")}: config.users: is empty (expected an object; write its value, or leave the key out where ` +
        `it has a default)`,
    );
  });

  it.each([
    ["array", "an array"],
    ["object", "an object"],
    ["integer", "an integer"],
    ["string", "a string"],
    ["number", "a number"],
    ["e-mail address", "an e-mail address"],
  ])("WHEN a message names %s THEN it reads %s", (noun, phrase) => {
    expect(withArticle(noun)).toBe(phrase);
  });
});

describe("GIVEN a file that is not valid YAML", () => {
  it("WHEN a flow sequence is not closed THEN the position and the parser's whole code frame are shown", () => {
    const lines = errorLines("name: [unclosed\nenvironment: prod\n");
    expect(lines).toEqual([
      "FILE: invalid configuration, 1 problem",
      "FILE:2:1: is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
      "    name: [unclosed",
      "    environment: prod",
      "    ^",
    ]);
  });

  it("WHEN a key is written twice THEN the second is pointed at, with its code frame", () => {
    const text = edited(["environment: prod ", "environment: prod\nenvironment: staging\n#"]);
    const lines = errorLines(text);
    expect(lines[1]).toBe(`FILE:${positionOf(text, "environment: staging")}: is not valid YAML: Map keys must be unique`);
    expect(lines.slice(2)).toEqual(expect.arrayContaining(["    environment: staging", "    ^"]));
  });

  it("WHEN the file is empty or a list THEN the error says a mapping is expected, at 1:1", () => {
    expect(errorLines("")[1]).toBe("FILE:1:1: config: is not a mapping (expected the keys of config/example.yaml at the top level)");
    expect(errorLines("- a\n- b\n")[1]).toBe(
      "FILE:1:1: config: is not a mapping (expected the keys of config/example.yaml at the top level)",
    );
  });

  it("WHEN aliases multiply beyond the limit (a billion laughs) THEN it is refused, not expanded", () => {
    const laughs = [
      "a: &a [x, x, x, x, x, x, x, x, x, x]",
      ...Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
            .fill(`*${String.fromCharCode(97 + i)}`)
            .join(", ")}]`,
      ),
    ].join("\n");
    expect(errorLines(laughs)[1]).toMatch(/^FILE:1:1: is not valid YAML: .*alias/i);
  });
});

describe("GIVEN the suggestion of a close key", () => {
  it.each([
    ["instancetype", "instanceType", 0],
    ["regoin", "region", 1],
    ["maxsise", "maxSize", 1],
    ["abc", "xyz", 3],
  ])("WHEN %s is compared with %s THEN the distance is %d", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });

  it("WHEN nothing is close THEN nothing is suggested, and short words need a closer match", () => {
    expect(closest("colour", ["idleMinutes", "maxRunningApps"])).toBeUndefined();
    expect(closest("ab", ["xy"])).toBeUndefined();
    expect(closest("tgs", ["tag", "tags"])).toBe("tags");
  });
});
