/**
 * Every sandbox create a user's OpenHands makes is kept on EFS (the body as the filter rebuilt it, never the
 * caller's text), so that a replacement host can recreate the user's sandboxes for OpenHands to resume.
 * Replays go through the filter's review again.
 * One JSON file per container under <efsRoot>/users/<slug>/sandboxes/, written atomically.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ownsContainerName } from "./api-policy";
import { parseStrictJson } from "./strict-json";

export interface SandboxCreateRecord {
  version: 1;
  name: string;
  /** The create body as the filter rebuilt it and sent it to dockerd. */
  body: Record<string, unknown>;
  recordedAt: string;
}

export class SandboxCreateRecords {
  constructor(private readonly dirFor: (slug: string) => string) {}

  save(slug: string, name: string, body: Record<string, unknown>): void {
    if (!ownsContainerName(slug, name)) throw new Error(`record name ${name} is outside the user's prefix`);
    const dir = this.dirFor(slug);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const record: SandboxCreateRecord = { version: 1, name, body, recordedAt: new Date().toISOString() };
    const file = join(dir, `${name}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
    renameSync(temp, file);
  }

  remove(slug: string, name: string): void {
    if (!ownsContainerName(slug, name)) return;
    rmSync(join(this.dirFor(slug), `${name}.json`), { force: true });
  }

  list(slug: string): SandboxCreateRecord[] {
    const dir = this.dirFor(slug);
    if (!existsSync(dir)) return [];
    const records: SandboxCreateRecord[] = [];
    for (const file of readdirSync(dir)) {
      if (!file.endsWith(".json")) continue;
      try {
        // Parsed strictly: a record edited to carry a key twice is refused, not half-read.
        const record = parseStrictJson(readFileSync(join(dir, file))) as SandboxCreateRecord;
        // A record planted or edited under another user's name is ignored.
        if (
          record.version === 1 &&
          ownsContainerName(slug, record.name) &&
          file === `${record.name}.json` &&
          record.body &&
          typeof record.body === "object"
        ) {
          records.push(record);
        }
      } catch {
        // An unreadable record is skipped; the sandbox is then lost, not the user's start.
      }
    }
    return records;
  }
}
