/**
 * Dry runs of the host installer: the built bundle (dist/host-bundle) runs in a temporary root (OH_ROOT)
 * against stub commands (support/fake-host.sh) that log their argv and keep a small fake world (packages,
 * units, mounts, images, parameters, secrets, firewall) between runs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import hostConfigEcsVector from "@openhands-team/contracts/vectors/host-config-ecs.json";
import hostConfigVector from "@openhands-team/contracts/vectors/host-config.json";

export const BUNDLE_DIR = join(__dirname, "..", "..", "dist", "host-bundle");
const FAKE_HOST = join(__dirname, "fake-host.sh");
const STUBBED = [
  "aws",
  "systemctl",
  "docker",
  "rpm",
  "dnf",
  "mountpoint",
  "mount",
  "blkid",
  "mkfs.xfs",
  "iptables",
  "iptables-restore",
  "ip6tables",
  "ip6tables-restore",
  "curl",
  "amazon-cloudwatch-agent-ctl",
  "sysctl",
  "modprobe",
  "sleep",
  "id",
  "ip",
];
export const REGION = "eu-central-1";
export const HOST_CONFIG_PARAMETER = "/oh/test/host/config";
export const EDGE_PARAMETER = "/oh/test/edge/secrets";
const ACCOUNT = "123456789012";
export const AGENT_SERVER_DIGEST = `sha256:${"c".repeat(64)}`;
export const secretArn = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:oh/test/${name}-AbCdEf`;

/**
 * A fresh copy of the contract's host configuration vector (@openhands-team/contracts, vectors/host-config.json; type
 * HostConfiguration), the document apps/infra writes in this shape: the installer's jq reads exactly what the type describes.
 */
export function sampleHostConfig(): Record<string, unknown> {
  return structuredClone(hostConfigVector.document) as Record<string, unknown>;
}

/** The same in ECS mode (vectors/host-config-ecs.json): the docker-mode document plus its `ecs` section. */
export function sampleEcsHostConfig(): Record<string, unknown> {
  return structuredClone(hostConfigEcsVector.document) as Record<string, unknown>;
}

const key = (s: string) => s.replace(/[/:@]/g, "_");

export interface RunResult {
  readonly code: number | null;
  readonly stderr: string;
  /** Stub calls of this run, one line each: the command then its %q-quoted arguments. */
  readonly calls: string[];
}

/** One fake AWS world (parameters, secrets) that several hosts can share, and one host at a time. */
export class DryRunHost {
  readonly dir = mkdtempSync(join(tmpdir(), "oh-dry-run-"));
  readonly root = join(this.dir, "root");
  readonly state = join(this.dir, "state");
  readonly bundle = join(this.dir, "bundle");
  private readonly stubs = join(this.dir, "stubs");
  private readonly log = join(this.dir, "calls.log");

  constructor(options: { hostConfig?: unknown; world?: DryRunHost } = {}) {
    if (!existsSync(join(BUNDLE_DIR, "install.sh"))) throw new Error(`no built bundle at ${BUNDLE_DIR}: run the package's build first`);
    cpSync(BUNDLE_DIR, this.bundle, { recursive: true });
    // the stub download of the compose plugin is not the real binary: pin its checksum in this copy
    const fakePlugin = createHash("sha256").update("fake docker compose plugin\n").digest("hex");
    const versions = join(this.bundle, "versions.env");
    writeFileSync(versions, readFileSync(versions, "utf8").replace(/^COMPOSE_SHA256=.*$/m, `COMPOSE_SHA256=${fakePlugin}`));
    mkdirSync(this.stubs);
    for (const name of STUBBED) symlinkSync(FAKE_HOST, join(this.stubs, name));
    chmodSync(FAKE_HOST, 0o755);
    mkdirSync(join(this.root, "etc"), { recursive: true });
    mkdirSync(join(this.root, "dev"), { recursive: true });
    writeFileSync(join(this.root, "etc", "fstab"), "UUID=1111-2222 / xfs defaults,noatime 1 1\n");
    writeFileSync(join(this.root, "dev", "xvdb"), "");
    mkdirSync(this.state);
    if (options.world) {
      // a replacement host: same parameters and secrets, nothing else
      cpSync(join(options.world.state, "ssm"), join(this.state, "ssm"), { recursive: true });
      cpSync(join(options.world.state, "secrets"), join(this.state, "secrets"), { recursive: true });
    } else {
      this.setParameter(HOST_CONFIG_PARAMETER, JSON.stringify(options.hostConfig ?? sampleHostConfig()));
      this.setParameter(EDGE_PARAMETER, '{"unset":true}');
      this.setSecret(secretArn("rds-master"), JSON.stringify({ username: "ohadmin", password: "master-password" }));
    }
  }

  setParameter(name: string, value: string): void {
    mkdirSync(join(this.state, "ssm"), { recursive: true });
    writeFileSync(join(this.state, "ssm", key(name)), value);
  }

  /** As before the stack that owns it was applied. */
  deleteParameter(name: string): void {
    rmSync(join(this.state, "ssm", key(name)), { force: true });
  }

  parameter(name: string): string {
    return readFileSync(join(this.state, "ssm", key(name)), "utf8");
  }

  setSecret(arn: string, value: string): void {
    mkdirSync(join(this.state, "secrets"), { recursive: true });
    writeFileSync(join(this.state, "secrets", key(arn)), value);
  }

  secret(arn: string): string | undefined {
    const file = join(this.state, "secrets", key(arn));
    return existsSync(file) ? readFileSync(file, "utf8") : undefined;
  }

  /** Marks a fact of the fake world, e.g. "secrets/deny" (access denied on every secret). */
  touchState(path: string): void {
    mkdirSync(join(this.state, path, ".."), { recursive: true });
    writeFileSync(join(this.state, path), "");
  }

  run(args: string[] = ["--region", REGION, "--host-config-parameter", HOST_CONFIG_PARAMETER]): RunResult {
    return this.runScript("install.sh", args);
  }

  /** Puts the host configuration where the installer would have written it (for running one step alone). */
  placeHostConfig(): void {
    mkdirSync(join(this.root, "etc", "openhands-team"), { recursive: true });
    writeFileSync(join(this.root, "etc", "openhands-team", "host-config.json"), this.parameter(HOST_CONFIG_PARAMETER));
  }

  /** Runs a script of the bundle (path relative to the bundle) in the dry run's root, against the stubs. */
  runScript(script: string, args: string[] = [], env: Record<string, string> = {}): RunResult {
    const before = existsSync(this.log) ? readFileSync(this.log, "utf8").split("\n").length - 1 : 0;
    const result = spawnSync("bash", [join(this.bundle, script), ...args], {
      encoding: "utf8",
      env: {
        PATH: `${this.stubs}:/usr/local/bin:/usr/bin:/bin`,
        OH_ROOT: this.root,
        STUB_STATE: this.state,
        STUB_LOG: this.log,
        HOME: this.dir,
        ...env,
      },
      // generous: on a machine shared with other test suites a full install can take a minute or more
      timeout: 300_000,
    });
    const calls = existsSync(this.log) ? readFileSync(this.log, "utf8").split("\n").slice(before, -1) : [];
    return { code: result.status, stderr: result.stderr, calls };
  }

  file(path: string): string {
    return readFileSync(join(this.root, path), "utf8");
  }

  exists(path: string): boolean {
    return existsSync(join(this.root, path));
  }

  mode(path: string): string {
    return (lstatSync(join(this.root, path)).mode & 0o777).toString(8).padStart(4, "0");
  }

  /** Every file and folder under the root with its mode, mtime and content digest. */
  snapshot(): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir).sort()) {
        const path = join(dir, name);
        const stat = lstatSync(path);
        const rel = relative(this.root, path);
        if (stat.isDirectory()) {
          out.set(`${rel}/`, `dir ${(stat.mode & 0o7777).toString(8)}`);
          walk(path);
        } else {
          const digest = createHash("sha256").update(readFileSync(path)).digest("hex").slice(0, 16);
          out.set(rel, `${(stat.mode & 0o7777).toString(8)} ${stat.mtimeMs} ${digest}`);
        }
      }
    };
    walk(this.root);
    return out;
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Calls that change a host or the AWS world (anything else only looks). */
export function mutatingCalls(calls: readonly string[]): string[] {
  const mutating = [
    /^dnf install/,
    /^mkfs/,
    /^mount /,
    /^aws secretsmanager put-secret-value/,
    /^aws ssm put-parameter/,
    /^aws route53 change-resource-record-sets/,
    /^docker (pull|tag|run|image rm)/,
    /^systemctl (enable|start|restart|daemon-reload)/,
    /^sysctl .*(-w|--system)/,
    /^modprobe/,
    /^ip6?tables-restore/,
    /^ip6?tables .*-(I|N|A|D|F) /,
    /^ip route (add|replace|del)/,
    /^curl .*-o /,
    /^amazon-cloudwatch-agent-ctl/,
  ];
  return calls.filter((call) => mutating.some((re) => re.test(call)));
}
