/**
 * ECS mode's rows of files/host-bundle/firewall/oh-firewall.rules, tested for real in network namespaces (support/netns-lab.ts):
 * users' apps and sandboxes are Fargate tasks in the task subnets and reach the host's private address, so the relay (3000),
 * the LLM gateway (4000), the remote sandbox API (8082) and the proxy's internal sandbox names (80) admit the task subnets
 * and no one else. The namespace that plays the VPC connects from addresses of its own: one in each task subnet (an app
 * task, a sandbox task), one outside them in the VPC, one of a peered network. The real oh-firewall.sh loads the rules with
 * the settings the installer writes in ECS mode (TASK_CIDRS), then with docker mode's (none: docker mode loads exactly its
 * own rules, test/firewall-netns.test.ts holds its whole matrix).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HOST_PRIMARY_IP, NetnsLab, PEERED_IP, VPC_CIDR, VPC_ROUTER_IP, labUnavailableReason, type ProbeResult } from "./support/netns-lab";

const FIREWALL_DIR = join(__dirname, "..", "files", "host-bundle", "firewall");
const unavailable = labUnavailableReason();
if (unavailable) {
  // Loud on purpose: a skipped matrix means ECS mode's firewall is untested on this machine.
  console.warn(
    `\n*** SKIPPING the ECS-mode firewall matrix: ${unavailable}. Run the tests as root on Linux with iproute2 and iptables. ***\n`,
  );
}
const describeLab = unavailable ? describe.skip : describe;
// A dropped SYN is only seen as a timeout; allowed connections answer in milliseconds (as in firewall-netns.test.ts).
const PROBE_TIMEOUT_MS = 3000;

/** Two task subnets of the lab's VPC (10.0.0.0/16), as ecs.subnetCidrs names them. */
const TASK_CIDRS = ["10.0.128.0/20", "10.0.144.0/20"];
const SOURCES = {
  appTask: "10.0.128.10",
  sandboxTask: "10.0.150.20",
  // in the VPC, outside the task subnets: just below the first and between the second's end and the VPC's
  vpcBelow: "10.0.127.254",
  vpcAbove: "10.0.160.1",
  // the router's own address, the source a VPC neighbour gets by default in the lab
  vpcRouter: VPC_ROUTER_IP,
  peered: PEERED_IP,
} as const;
type Source = keyof typeof SOURCES | "host";

const DOORS = [
  [3000, "the relay (callbacks, /mcp/mcp)"],
  [4000, "the LLM gateway"],
  [8082, "the remote sandbox API"],
  [80, "the proxy's internal sandbox names"],
] as const;

interface Row {
  readonly from: Source;
  readonly host: string;
  readonly port: number;
  readonly allow: boolean;
  readonly why: string;
}
const row = (from: Source, port: number, allow: boolean, why: string, host = HOST_PRIMARY_IP): Row => ({ from, host, port, allow, why });

const ECS_MATRIX: Row[] = [
  ...DOORS.flatMap(([port, what]) => [
    row("appTask", port, true, `${what} for an app task`),
    row("sandboxTask", port, true, `${what} for a task in the second task subnet (the security groups narrow sandboxes)`),
    row("vpcBelow", port, false, `${what} from the VPC just outside the task subnets`),
    row("vpcAbove", port, false, `${what} from the VPC past the last task subnet`),
    row("vpcRouter", port, false, `${what} from a VPC neighbour`),
    row("peered", port, false, `${what} from a peered network`),
    row("host", port, true, `${what} for the host's own processes`),
  ]),
  row("appTask", 8081, false, "the spawner's control API from a task"),
  row("vpcRouter", 8081, false, "the spawner's control API from the VPC"),
  // nothing else new: OpenResty's 8080 stays the security groups' call (the ALB lives in these subnets too)
  row("appTask", 8080, true, "OpenResty as in docker mode (the host's group admits the ALB only)"),
  row("vpcRouter", 8080, true, "the ALB to OpenResty"),
];

/** Docker mode (no TASK_CIDRS): as before, no task door: 3000 and 4000 refuse the whole VPC, 8082 and 80 have no rule of ours. */
const DOCKER_MATRIX: Row[] = [
  row("appTask", 3000, false, "the relays serve their own bridge only"),
  row("appTask", 4000, false, "the LLM gateway serves the user bridges and loopback only"),
  row("appTask", 8082, true, "no rule of docker mode names 8082 (nothing listens there)"),
  row("appTask", 80, true, "no rule of docker mode names 80 (nothing listens there)"),
  row("vpcRouter", 8080, true, "the ALB to OpenResty"),
];

const id = (r: Row) => `${r.from} -> ${r.host}:${r.port}`;

describeLab("host firewall in ECS mode: the task subnets' doors (network namespaces)", () => {
  const lab = new NetnsLab();
  const settingsDir = mkdtempSync(join(tmpdir(), "oh-fw-ecs-"));
  const settingsFile = (name: string, content: string) => {
    const file = join(settingsDir, name);
    writeFileSync(file, content);
    return file;
  };
  // what the installer writes in ECS mode (steps/40-files.sh) and in docker mode
  const ecsSettings = settingsFile(
    "ecs.env",
    `# openhands-team firewall settings\nVPC_CIDRS=${VPC_CIDR}\nDATABASE_PORT=5432\n# ECS mode\nTASK_CIDRS=${TASK_CIDRS.join(" ")}\n`,
  );
  const dockerSettings = settingsFile("docker.env", `VPC_CIDRS=${VPC_CIDR}\nDATABASE_PORT=5432\n`);
  const applyFirewall = (settings: string) =>
    lab.exec(lab.host, "bash", [join(FIREWALL_DIR, "oh-firewall.sh"), join(FIREWALL_DIR, "oh-firewall.rules"), settings]);
  const ohInput = () => lab.exec(lab.host, "iptables", ["-S", "OH-INPUT"]);

  async function run(rows: Row[]): Promise<Map<string, ProbeResult>> {
    const fromHost = rows.filter((r) => r.from === "host");
    const fromVpc = rows.filter((r) => r.from !== "host");
    const [host, vpc] = await Promise.all([
      lab.probe(
        lab.host,
        fromHost.map((r) => ({ id: id(r), host: r.host, port: r.port })),
        PROBE_TIMEOUT_MS,
      ),
      lab.probe(
        lab.vpc,
        fromVpc.map((r) => ({ id: id(r), host: r.host, port: r.port, localAddress: SOURCES[r.from as keyof typeof SOURCES] })),
        PROBE_TIMEOUT_MS,
      ),
    ]);
    return new Map([...host, ...vpc].map((r) => [r.id, r]));
  }

  const outcome = (rows: Row[], results: Map<string, ProbeResult>) =>
    rows.map((r) => `${id(r)}: ${results.get(id(r))!.connected ? "connected" : "refused"} (${r.why})`);
  const expected = (rows: Row[]) => rows.map((r) => `${id(r)}: ${r.allow ? "connected" : "refused"} (${r.why})`);

  beforeAll(async () => {
    // ECS mode: no user bridges on the host; Docker runs only the host's own services
    lab.build({ users: [], containers: [] });
    lab.applyDockerRules();
    // the VPC namespace owns every source address; the host answers them through its default route into the VPC
    for (const address of Object.values(SOURCES)) {
      if (address !== VPC_ROUTER_IP && address !== PEERED_IP) lab.exec(lab.vpc, "ip", ["addr", "add", `${address}/32`, "dev", "lo"]);
    }
    // the relay listens on the host's private address, the rest on every address
    await lab.listen(lab.host, "host", [
      `${HOST_PRIMARY_IP}:3000`,
      "0.0.0.0:4000",
      "0.0.0.0:8082",
      "0.0.0.0:80",
      "0.0.0.0:8081",
      "0.0.0.0:8080",
    ]);
  }, 60_000);

  afterAll(async () => {
    await lab.destroy();
    rmSync(settingsDir, { recursive: true, force: true });
  });

  it("GIVEN no firewall WHEN the VPC outside the task subnets tries the four doors THEN it connects (the refusals are ours)", async () => {
    const rows = ECS_MATRIX.filter((r) => !r.allow).map((r) => ({ ...r, allow: true }));
    expect(outcome(rows, await run(rows))).toEqual(expected(rows));
  }, 30_000);

  it("GIVEN the ECS-mode settings WHEN oh-firewall.sh applies them THEN only the task subnets reach 3000, 4000, 8082, 80", async () => {
    applyFirewall(ecsSettings);
    const results = await run(ECS_MATRIX);
    expect(outcome(ECS_MATRIX, results)).toEqual(expected(ECS_MATRIX));
    // an allowed connection reached the listener it was meant for
    expect(results.get(`appTask -> ${HOST_PRIMARY_IP}:3000`)!.banner).toBe(`host ${HOST_PRIMARY_IP}:3000`);
    expect(results.get(`sandboxTask -> ${HOST_PRIMARY_IP}:8082`)!.banner).toBe("host 0.0.0.0:8082");
    // one pair of task doors per task subnet, and the drops of 8082 and 80 for everyone else
    const rules = ohInput();
    for (const cidr of TASK_CIDRS) {
      expect(rules).toContain(`-A OH-INPUT -s ${cidr} -p tcp -m multiport --dports 3000,4000 -j RETURN`);
      expect(rules).toContain(`-A OH-INPUT -s ${cidr} -p tcp -m multiport --dports 8082,80 -j RETURN`);
    }
    expect(rules).toContain("-A OH-INPUT -p tcp -m tcp --dport 8082 -j DROP");
  }, 30_000);

  it("GIVEN ECS mode applied WHEN docker mode's settings are applied THEN ECS mode's rules are gone, docker mode's rows hold", async () => {
    applyFirewall(dockerSettings);
    const rules = ohInput();
    expect(rules).not.toMatch(/multiport|--dport (8082|80) |10\.0\.1(28|44)\.0/);
    expect(rules).toContain("-A OH-INPUT -p tcp -m tcp --dport 3000 -j DROP");
    expect(outcome(DOCKER_MATRIX, await run(DOCKER_MATRIX))).toEqual(expected(DOCKER_MATRIX));
  }, 30_000);

  function failure(settings: string): string {
    try {
      execFileSync(
        "ip",
        ["netns", "exec", lab.host, "bash", join(FIREWALL_DIR, "oh-firewall.sh"), join(FIREWALL_DIR, "oh-firewall.rules"), settings],
        {
          stdio: "pipe",
          encoding: "utf8",
        },
      );
    } catch (err) {
      return String((err as { stderr?: string }).stderr);
    }
    return "(it succeeded)";
  }

  it.each([
    ["a rule smuggled into the task CIDRs", "10.0.128.0/20 -j ACCEPT", '"-j" is not an IPv4 CIDR'],
    ["a peered network (outside the VPC)", "172.31.0.0/16", '"172.31.0.0/16" lies outside the VPC (10.0.0.0/16)'],
    ["a private range outside the VPC", "192.168.0.0/24", '"192.168.0.0/24" lies outside the VPC'],
    ["a public range", "203.0.113.0/24", '"203.0.113.0/24" is not a private range'],
    ["a prefix wider than /16 (the whole VPC and more)", "10.0.0.0/8", '"10.0.0.0/8" has a prefix length outside 16-28'],
    ["more than 16 subnets", Array.from({ length: 17 }, (_, i) => `10.0.${128 + i}.0/24`).join(" "), "17 CIDRs, more than the 16"],
  ])("GIVEN TASK_CIDRS with %s WHEN oh-firewall.sh runs THEN it refuses clearly and leaves the rules alone", (_case, value, message) => {
    const before = ohInput();
    const file = settingsFile("bad.env", `VPC_CIDRS=${VPC_CIDR}\nDATABASE_PORT=5432\nTASK_CIDRS=${value}\n`);
    expect(failure(file)).toContain(message);
    expect(ohInput()).toBe(before);
  });
});
