/**
 * What the spawner remembers of a user's ECS sandboxes between its own restarts and while a sandbox is paused
 * (Fargate cannot pause: a paused sandbox is a record and no task). One JSON file per sandbox in the user's
 * sandbox record folder (the one the docker backend keeps its create records in), `ecs-<session id>.json`,
 * written atomically, readable by the spawner only. Running sandboxes come back from ECS itself; the record adds
 * what ECS does not keep for a stopped task: the start request, to resume it, and the route port.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseStrictJson } from "../docker/strict-json";
import { SESSION_ID } from "./sandbox-task";

export interface EcsSandboxRecord {
  version: 1;
  sessionId: string;
  /** The last task run for this sandbox. */
  taskId: string;
  /** live: a task was started and not paused by us; paused: stopped by /pause or stopAll, resumable. */
  state: "live" | "paused";
  /** First of the sandbox's four route ports (sandbox-task.ts, ROUTE_PORTS_PER_SANDBOX). */
  routePort: number;
  image: string;
  command?: string[];
  workingDir: string;
  /** The app's environment as the start request gave it, without the session key (a resume makes a new one). */
  environment: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

const FILE = /^ecs-([A-Za-z0-9_-]{1,64})\.json$/;

export class EcsSandboxRecords {
  constructor(private readonly dir: string) {}

  save(record: EcsSandboxRecord): void {
    // Path traversal: only a well-formed session id becomes a file name.
    if (!SESSION_ID.test(record.sessionId)) throw new Error(`not a session id: ${JSON.stringify(record.sessionId)}`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const file = join(this.dir, `ecs-${record.sessionId}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(record), { mode: 0o600 });
    renameSync(temp, file);
  }

  remove(sessionId: string): void {
    if (!SESSION_ID.test(sessionId)) return;
    rmSync(join(this.dir, `ecs-${sessionId}.json`), { force: true });
  }

  list(): EcsSandboxRecord[] {
    if (!existsSync(this.dir)) return [];
    const records: EcsSandboxRecord[] = [];
    for (const file of readdirSync(this.dir)) {
      const match = FILE.exec(file);
      if (!match) continue;
      try {
        // Parsed strictly: a record edited to carry a key twice is refused, not half-read.
        const record = parseStrictJson(readFileSync(join(this.dir, file))) as EcsSandboxRecord;
        if (isRecord(record) && record.sessionId === match[1]) records.push(record);
      } catch {
        // An unreadable record is skipped: that sandbox is lost, not the user's other ones.
      }
    }
    return records;
  }
}

function isRecord(value: EcsSandboxRecord): boolean {
  return (
    value !== null &&
    typeof value === "object" &&
    value.version === 1 &&
    typeof value.taskId === "string" &&
    /^[A-Za-z0-9_-]{1,64}$/.test(value.taskId) &&
    (value.state === "live" || value.state === "paused") &&
    Number.isInteger(value.routePort) &&
    typeof value.image === "string" &&
    typeof value.workingDir === "string" &&
    (value.command === undefined || (Array.isArray(value.command) && value.command.every((part) => typeof part === "string"))) &&
    value.environment !== null &&
    typeof value.environment === "object" &&
    Object.values(value.environment).every((item) => typeof item === "string")
  );
}
