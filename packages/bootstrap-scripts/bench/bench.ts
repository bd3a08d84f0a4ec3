/**
 * Figures of the host bundle, measured side by side in one run (`pnpm --filter @openhands-team/bootstrap-scripts bench`):
 *  1. user data size: raw, gzipped, gzipped + base64 (what the launch template holds), against EC2's 16 KB limit;
 *  2. the installer's dry run on a bare host, then again on the same host (idempotent): wall time, calls, changes;
 *  3. the firewall's cost on the sandbox-to-relay path: TCP connections per second with Docker's rules alone and
 *     with ours on top (network namespaces; skipped, loudly, without root).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { renderUserData } from "../src/user-data";
import { DryRunHost, mutatingCalls } from "../test/support/dry-run";
import { NetnsLab, labUnavailableReason } from "../test/support/netns-lab";

const row = (label: string, ...cells: (string | number)[]) =>
  console.log(`  ${label.padEnd(44)}${cells.map((c) => String(c).padStart(14)).join("")}`);

function userDataSize(): void {
  const sha = "ab".repeat(32);
  const text = renderUserData({
    region: "eu-central-1",
    bundleS3Uri: `s3://openhands-prod-artifacts/host-bundle/${sha}.zip`,
    bundleSha256: sha,
    hostConfigParameter: "/openhands/prod/host/config",
  });
  const gz = gzipSync(text, { level: 9 });
  const b64 = gz.toString("base64");
  console.log("\nuser data (bytes; EC2 limit 16384)");
  row("", "raw", "gzip", "gzip+base64");
  row("size", Buffer.byteLength(text), gz.length, b64.length);
  row(
    "share of the 16 KB limit",
    `${((100 * Buffer.byteLength(text)) / 16384).toFixed(1)}%`,
    `${((100 * gz.length) / 16384).toFixed(1)}%`,
    `${((100 * b64.length) / 16384).toFixed(1)}%`,
  );
}

function installer(): void {
  const host = new DryRunHost();
  try {
    const t0 = process.hrtime.bigint();
    const first = host.run();
    const t1 = process.hrtime.bigint();
    const second = host.run();
    const t2 = process.hrtime.bigint();
    if (first.code !== 0 || second.code !== 0) throw new Error(`dry run failed:\n${first.stderr}\n${second.stderr}`);
    const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
    const changed = (stderr: string) => /done: (\d+) file/.exec(stderr)?.[1] ?? "?";
    console.log("\ninstaller dry run (stub commands, temporary root)");
    row("", "bare host", "second run", "second/first");
    row("wall time (ms)", ms(t0, t1).toFixed(0), ms(t1, t2).toFixed(0), (ms(t1, t2) / ms(t0, t1)).toFixed(2));
    row("commands called", first.calls.length, second.calls.length, (second.calls.length / first.calls.length).toFixed(2));
    row("commands that change something", mutatingCalls(first.calls).length, mutatingCalls(second.calls).length, "");
    row("files written", changed(first.stderr), changed(second.stderr), "");
  } finally {
    host.cleanup();
  }
}

async function firewallCost(): Promise<void> {
  console.log("\nfirewall cost: sandbox -> own relay (10.240.1.1:3000), sequential TCP connections");
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`  SKIPPED: ${reason}`);
    return;
  }
  const lab = new NetnsLab();
  const count = 2000;
  const settingsDir = mkdtempSync(join(tmpdir(), "oh-fw-bench-"));
  const settings = join(settingsDir, "firewall.env");
  writeFileSync(settings, "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\n");
  try {
    lab.build({
      users: [
        { key: "A", bridge: "ohu-aaaaaaaaaaa", subnetIndex: 1 },
        { key: "B", bridge: "ohu-bbbbbbbbbbb", subnetIndex: 2 },
      ],
      containers: [{ name: "sbxA1", user: "A", host: 3, port: 8000 }],
    });
    lab.applyDockerRules();
    await lab.listen(lab.host, "relay", ["10.240.1.1:3000"]);
    const firewallDir = join(__dirname, "..", "files", "host-bundle", "firewall");
    const once = () =>
      Number(
        lab
          .exec(lab.ns("sbxA1"), process.execPath, [
            join(__dirname, "..", "test", "support", "tcp-connect-rate.cjs"),
            "10.240.1.1",
            "3000",
            String(count),
          ])
          .trim(),
      );
    const setRules = (on: boolean) => {
      if (on)
        execFileSync(
          "ip",
          ["netns", "exec", lab.host, "bash", join(firewallDir, "oh-firewall.sh"), join(firewallDir, "oh-firewall.rules"), settings],
          { stdio: "pipe" },
        );
      else
        for (const [chain, target] of [
          ["INPUT", "OH-INPUT"],
          ["DOCKER-USER", "OH-FORWARD"],
        ])
          lab.exec(lab.host, "iptables", ["-w", "-D", chain!, "-j", target!]);
    };
    // alternate the two set-ups so that machine load hits both alike; keep each one's best round
    let without = Infinity;
    let withRules = Infinity;
    once();
    for (let round = 0; round < 4; round += 1) {
      without = Math.min(without, once());
      setRules(true);
      withRules = Math.min(withRules, once());
      setRules(false);
    }
    row("", "Docker only", "+ oh-firewall", "ratio");
    row(
      `connections/s (best of 4 x ${count})`,
      ((count * 1000) / without).toFixed(0),
      ((count * 1000) / withRules).toFixed(0),
      (without / withRules).toFixed(2),
    );
  } finally {
    await lab.destroy();
    rmSync(settingsDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(
    `bootstrap-scripts bench (${new Date().toISOString()}, load average ${(await import("node:os"))
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")})`,
  );
  userDataSize();
  installer();
  await firewallCost();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
