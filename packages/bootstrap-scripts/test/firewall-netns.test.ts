/**
 * The reachability matrix of files/host-bundle/firewall/oh-firewall.rules, tested for real: user bridges,
 * veth pairs, container namespaces, Docker's iptables rules (a contract fake, see support/netns-lab.ts)
 * and then our rules, applied by the real oh-firewall.sh inside a namespace that plays the host.
 * Every pair is tried as a TCP connection that must (or must not) receive the listener's banner, and the
 * pairs are tried in both directions. Rows marked `firewall` are the ones Docker alone lets through:
 * the first test shows they really connect without our rules, so each of our rules is load-bearing.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AURORA_IP,
  BRIDGE_LINK_LOCAL,
  HOST_PRIMARY_IP,
  IMDS_IP,
  INTERNET_IP,
  LINK_LOCAL_SERVICE_IP,
  PEERED_IP,
  VPC_CIDR,
  VPC_DNS_IP,
  VPC_ROUTER_IP,
  VPC_SERVICE_IP,
  NetnsLab,
  labUnavailableReason,
  type ProbeResult,
} from "./support/netns-lab";

const FIREWALL_DIR = join(__dirname, "..", "files", "host-bundle", "firewall");
const unavailable = labUnavailableReason();
if (unavailable) {
  // Loud on purpose: a skipped matrix means the firewall is untested on this machine.
  console.warn(
    `\n*** SKIPPING the firewall reachability matrix: ${unavailable}. Run the tests as root on Linux with iproute2 and iptables. ***\n`,
  );
}
const describeLab = unavailable ? describe.skip : describe;
// A dropped SYN is only seen as a timeout; allowed connections answer in milliseconds, but give a machine
// busy with other test suites room before calling a connection refused.
const PROBE_TIMEOUT_MS = 3000;

const A = { key: "A", bridge: "ohu-aaaaaaaaaaa", subnetIndex: 1 };
const B = { key: "B", bridge: "ohu-bbbbbbbbbbb", subnetIndex: 7 };
const GW_A = "10.240.1.1";
const GW_B = "10.240.7.1";
const CONTAINERS = [
  { name: "appA", user: "A", host: 2, port: 3000 },
  { name: "sbxA1", user: "A", host: 3, port: 8000, publishedPort: 40001 },
  { name: "sbxA2", user: "A", host: 4, port: 8000, publishedPort: 40002 },
  { name: "appB", user: "B", host: 2, port: 3000 },
  { name: "sbxB1", user: "B", host: 3, port: 8000, publishedPort: 40003 },
];
const IP: Record<string, string> = {
  appA: "10.240.1.2",
  sbxA1: "10.240.1.3",
  sbxA2: "10.240.1.4",
  appB: "10.240.7.2",
  sbxB1: "10.240.7.3",
};
/** IPv6 link-local addresses as seen from inside a container of user A (scope: its eth0). */
const LL_GW = `${BRIDGE_LINK_LOCAL}%eth0`;
const LL_APP_A = "fe80::2%eth0";
const LL_SBX_A2 = "fe80::4%eth0";

interface Row {
  readonly from: string;
  readonly host: string;
  readonly port: number;
  readonly allow: boolean;
  /** Refused only because of our rules: Docker's own rules let it through. */
  readonly firewall?: boolean;
  readonly why: string;
}

const allow = (from: string, host: string, port: number, why: string): Row => ({ from, host, port, allow: true, why });
const deny = (from: string, host: string, port: number, why: string, firewall = true): Row => ({
  from,
  host,
  port,
  allow: false,
  firewall,
  why,
});

const MATRIX: Row[] = [
  // a sandbox of user A
  allow("sbxA1", GW_A, 3000, "its own webhook relay (callbacks, /mcp/mcp)"),
  allow("sbxA1", GW_A, 4000, "the LLM gateway on its own gateway"),
  allow("sbxA1", INTERNET_IP, 443, "the internet (packages, git)"),
  deny("sbxA1", IMDS_IP, 80, "instance metadata: the instance role's credentials"),
  deny("sbxA1", VPC_ROUTER_IP, 2049, "NFS to an EFS mount target (other users' workspaces)"),
  allow("sbxA1", VPC_DNS_IP, 53, "the VPC resolver (Docker's embedded DNS forwards from the container's namespace)"),
  deny("sbxA1", AURORA_IP, 5432, "Aurora from a sandbox (the DB security group admits the host)"),
  deny("sbxA1", VPC_SERVICE_IP, 8443, "any other service in the VPC"),
  deny("sbxA1", VPC_DNS_IP, 8443, "the resolver's address on another port"),
  deny("sbxA1", PEERED_IP, 443, "a private network beyond the VPC (peering, transit gateway)"),
  deny("sbxA1", LINK_LOCAL_SERVICE_IP, 80, "any other link-local service"),
  deny("sbxA1", GW_A, 8080, "OpenResty from inside (forged identity headers)"),
  deny("sbxA1", GW_A, 8081, "the spawner's control API"),
  deny("sbxA1", GW_A, 22, "sshd and any other host socket"),
  deny("sbxA1", HOST_PRIMARY_IP, 8080, "OpenResty through the host's primary address"),
  deny("sbxA1", HOST_PRIMARY_IP, 4000, "the LLM gateway through an address other than its gateway"),
  deny("sbxA1", HOST_PRIMARY_IP, 8081, "the control API on the host's primary address"),
  deny("sbxA1", HOST_PRIMARY_IP, 5432, "a database on the host's primary address"),
  deny("sbxA1", HOST_PRIMARY_IP, 22, "sshd on the host's primary address"),
  deny("sbxA1", GW_A, 5432, "a database on its own gateway address"),
  deny("sbxA1", GW_B, 8081, "the control API through user B's gateway"),
  deny("sbxA1", LL_GW, 2222, "a host socket on [::] through its gateway's IPv6 link-local address"),
  deny("sbxA1", LL_APP_A, 3000, "its own app over IPv6 link-local (bridged: ICC is IPv4 only)"),
  deny("sbxA1", LL_SBX_A2, 8000, "its sibling sandbox over IPv6 link-local"),
  deny("sbxA1", GW_B, 3000, "user B's relay (forged callbacks into B's app)"),
  deny("sbxA1", GW_B, 4000, "the LLM gateway through user B's gateway"),
  deny("sbxA1", GW_A, 40002, "its sibling sandbox through the sibling's published port"),
  deny("sbxA1", GW_B, 40003, "user B's sandbox through its published port"),
  deny("sbxA1", IP.appA!, 3000, "its own app directly (ICC off: it would list sandboxes with their keys)", false),
  deny("sbxA1", IP.sbxA2!, 8000, "its sibling sandbox directly (ICC off)", false),
  deny("sbxA1", IP.appB!, 3000, "user B's app", false),
  deny("sbxA1", IP.sbxB1!, 8000, "user B's sandbox", false),
  // the sibling and user B's sandbox: the same pairs the other way round
  allow("sbxA2", GW_A, 3000, "its own webhook relay"),
  deny("sbxA2", IP.sbxA1!, 8000, "its sibling sandbox directly (ICC off)", false),
  deny("sbxA2", GW_A, 40001, "its sibling through the sibling's published port"),
  allow("sbxB1", GW_B, 3000, "its own webhook relay"),
  allow("sbxB1", GW_B, 4000, "the LLM gateway on its own gateway"),
  deny("sbxB1", IMDS_IP, 80, "instance metadata"),
  deny("sbxB1", AURORA_IP, 5432, "Aurora from user B's sandbox"),
  deny("sbxB1", GW_A, 3000, "user A's relay"),
  deny("sbxB1", GW_A, 40001, "user A's sandbox through its published port"),
  deny("sbxB1", IP.sbxA1!, 8000, "user A's sandbox directly", false),
  deny("sbxB1", IP.appA!, 3000, "user A's app", false),
  deny("sbxB1", IP.appB!, 3000, "its own app directly (ICC off)", false),
  // the app of user A
  allow("appA", GW_A, 40001, "its own sandbox's agent-server through the published port (health, conversations)"),
  allow("appA", GW_A, 40002, "its other sandbox's published port"),
  allow("appA", IMDS_IP, 80, "instance metadata from the app's fixed address (S3 events)"),
  allow("appA", INTERNET_IP, 443, "the internet and AWS APIs"),
  allow("appA", AURORA_IP, 5432, "Aurora (its database)"),
  allow("appA", VPC_DNS_IP, 53, "the VPC resolver"),
  deny("appA", VPC_ROUTER_IP, 2049, "NFS to an EFS mount target"),
  deny("appA", VPC_SERVICE_IP, 8443, "any other service in the VPC"),
  deny("appA", AURORA_IP, 8443, "Aurora's address on another port"),
  deny("appA", PEERED_IP, 443, "a private network beyond the VPC"),
  deny("appA", HOST_PRIMARY_IP, 8081, "the control API on the host's primary address"),
  deny("appA", LL_GW, 2222, "a host socket on [::] over IPv6 link-local"),
  allow("appA", GW_A, 4000, "the LLM gateway"),
  deny("appA", GW_A, 8080, "OpenResty from inside"),
  deny("appA", GW_A, 8081, "the spawner's control API"),
  deny("appA", GW_B, 40003, "user B's sandbox through B's published port"),
  deny("appA", GW_B, 3000, "user B's relay"),
  deny("appA", IP.sbxA1!, 8000, "its own sandbox directly (only through the published port)", false),
  deny("appA", IP.appB!, 3000, "user B's app", false),
  deny("appA", IP.sbxB1!, 8000, "user B's sandbox directly", false),
  // the app of user B: the cross-user pairs the other way round
  allow("appB", GW_B, 40003, "its own sandbox through the published port"),
  allow("appB", IMDS_IP, 80, "instance metadata from the app's fixed address"),
  allow("appB", AURORA_IP, 5432, "Aurora (its database)"),
  deny("appB", GW_A, 40001, "user A's sandbox through A's published port"),
  deny("appB", IP.appA!, 3000, "user A's app", false),
  deny("appB", IP.sbxA1!, 8000, "user A's sandbox directly", false),
  deny("appB", IP.sbxB1!, 8000, "its own sandbox directly (only through the published port)", false),
  // processes in the host's namespace (OpenResty, spawner, LLM gateway)
  allow("host", IP.appA!, 3000, "OpenResty to user A's app"),
  allow("host", IP.appB!, 3000, "OpenResty to user B's app"),
  allow("host", IP.sbxA1!, 8000, "OpenResty to a sandbox"),
  allow("host", IP.sbxB1!, 8000, "OpenResty to user B's sandbox"),
  allow("host", GW_A, 40001, "OpenResty to a published port"),
  allow("host", "127.0.0.1", 8081, "OpenResty to the spawner API"),
  allow("host", IMDS_IP, 80, "host processes to instance metadata (LLM gateway's Bedrock credentials)"),
  allow("host", VPC_ROUTER_IP, 2049, "the host mounts EFS itself"),
  allow("host", AURORA_IP, 5432, "host processes to Aurora (the installer's database set-up)"),
  allow("host", VPC_SERVICE_IP, 8443, "host processes to the VPC (endpoints)"),
  // the VPC
  allow("vpc", HOST_PRIMARY_IP, 8080, "the ALB to OpenResty"),
  deny("vpc", HOST_PRIMARY_IP, 8081, "the spawner's control API from the VPC"),
  deny("vpc", HOST_PRIMARY_IP, 4000, "the LLM gateway from the VPC"),
  deny("vpc", GW_A, 3000, "a relay, routed through the host"),
  deny("vpc", GW_A, 40001, "a published port, routed through the host (Docker DNATs it)"),
  deny("vpc", IP.sbxA1!, 8000, "a sandbox, routed straight to it (Docker's DOCKER chain accepts it)"),
  deny("vpc", IP.appA!, 3000, "an app, routed straight to it", false),
];

function id(row: Row): string {
  return `${row.from} -> ${row.host}:${row.port}`;
}

describeLab("host firewall reachability matrix (network namespaces)", () => {
  const lab = new NetnsLab();
  const settingsDir = mkdtempSync(join(tmpdir(), "oh-fw-"));
  const settings = join(settingsDir, "firewall.env");
  writeFileSync(settings, `VPC_CIDRS=${VPC_CIDR}\nDATABASE_PORT=5432\n`);
  const applyFirewall = (settingsFile = settings) =>
    lab.exec(lab.host, "bash", [join(FIREWALL_DIR, "oh-firewall.sh"), join(FIREWALL_DIR, "oh-firewall.rules"), settingsFile]);

  async function run(rows: Row[]): Promise<Map<string, ProbeResult>> {
    const sources = [...new Set(rows.map((r) => r.from))];
    const results = await Promise.all(
      sources.map((from) =>
        lab.probe(
          from === "host" ? lab.host : from === "vpc" ? lab.vpc : lab.ns(from),
          rows.filter((r) => r.from === from).map((r) => ({ id: id(r), host: r.host, port: r.port })),
          PROBE_TIMEOUT_MS,
        ),
      ),
    );
    return new Map(results.flat().map((r) => [r.id, r]));
  }

  function outcome(rows: Row[], results: Map<string, ProbeResult>): string[] {
    return rows.map((r) => {
      const res = results.get(id(r))!;
      return `${id(r)}: ${res.connected ? "connected" : "refused"} (${r.why})`;
    });
  }

  beforeAll(async () => {
    lab.build({ users: [A, B], containers: CONTAINERS });
    lab.applyDockerRules();
    await Promise.all([
      lab.listen(lab.host, "host", [
        "0.0.0.0:8080",
        "0.0.0.0:8081",
        "0.0.0.0:4000",
        "0.0.0.0:22",
        "0.0.0.0:5432",
        "[::]:2222",
        `${GW_A}:3000`,
        `${GW_B}:3000`,
        `${GW_A}:40001`,
        `${GW_A}:40002`,
        `${GW_B}:40003`,
      ]),
      lab.listen(lab.vpc, "vpc", [
        `${IMDS_IP}:80`,
        `${LINK_LOCAL_SERVICE_IP}:80`,
        `${INTERNET_IP}:443`,
        `${VPC_ROUTER_IP}:2049`,
        `${VPC_DNS_IP}:53`,
        `${VPC_DNS_IP}:8443`,
        `${AURORA_IP}:5432`,
        `${AURORA_IP}:8443`,
        `${VPC_SERVICE_IP}:8443`,
        `${PEERED_IP}:443`,
      ]),
      // each container also listens on its IPv6 link-local address (fe80::<last octet>)
      ...CONTAINERS.map((c) => lab.listen(lab.ns(c.name), c.name, [`${IP[c.name]}:${c.port}`, `[fe80::${c.host}%eth0]:${c.port}`])),
    ]);
  }, 60_000);

  afterAll(async () => {
    await lab.destroy();
    rmSync(settingsDir, { recursive: true, force: true });
  });

  it("GIVEN Docker's rules alone WHEN the attacks our firewall exists for are " +
    "tried THEN they connect (so every firewall row is load-bearing)", async () => {
    const rows = MATRIX.filter((r) => r.firewall);
    const results = await run(rows);
    const expected = rows.map((r) => `${id(r)}: connected (${r.why})`);
    expect(outcome(rows, results)).toEqual(expected);
  }, 90_000);

  it("GIVEN oh-firewall.sh applied on top of Docker's rules WHEN every pair is tried THEN exactly the allowed ones connect", async () => {
    applyFirewall();
    const results = await run(MATRIX);
    const expected = MATRIX.map((r) => `${id(r)}: ${r.allow ? "connected" : "refused"} (${r.why})`);
    expect(outcome(MATRIX, results)).toEqual(expected);
    // and an allowed connection reached the listener it was meant for (not a DNAT'd neighbour)
    expect(results.get(`sbxA1 -> ${GW_A}:3000`)!.banner).toBe(`host ${GW_A}:3000`);
    expect(results.get(`appA -> ${GW_A}:40001`)!.banner).toBe(`host ${GW_A}:40001`);
    expect(results.get(`host -> ${IP.sbxA1}:8000`)!.banner).toBe(`sbxA1 ${IP.sbxA1}:8000`);
  }, 90_000);

  it("GIVEN the firewall applied WHEN oh-firewall.sh runs again THEN the rule set is unchanged and each jump exists once", () => {
    const save = (tool: string) =>
      lab
        .exec(lab.host, tool, ["-t", "filter"])
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .map((l) => l.replace(/\[\d+:\d+\]/, ""))
        .join("\n");
    const before = [save("iptables-save"), save("ip6tables-save")];
    applyFirewall();
    const after = [save("iptables-save"), save("ip6tables-save")];
    expect(after).toEqual(before);
    for (const rules of after) {
      expect(rules.split("\n").filter((l) => l === "-A INPUT -j OH-INPUT")).toHaveLength(1);
      expect(rules.split("\n").filter((l) => l === "-A DOCKER-USER -j OH-FORWARD")).toHaveLength(1);
      expect(rules.split("\n").filter((l) => l === "-A FORWARD -j DOCKER-USER")).toHaveLength(1);
    }
    expect(lab.exec(lab.host, "bash", [join(FIREWALL_DIR, "oh-firewall.sh"), "--check"])).toBe("");
  });

  function failure(args: string[]): string {
    try {
      execFileSync("ip", ["netns", "exec", lab.host, "bash", join(FIREWALL_DIR, "oh-firewall.sh"), ...args], {
        stdio: "pipe",
        encoding: "utf8",
      });
    } catch (err) {
      return String((err as { stderr?: string }).stderr);
    }
    return "(it succeeded)";
  }

  it("GIVEN a missing rules file WHEN oh-firewall.sh runs THEN it fails with a clear message and leaves the rules alone", () => {
    expect(failure(["/nonexistent/rules", settings])).toContain("rules file /nonexistent/rules is missing");
    expect(lab.exec(lab.host, "iptables", ["-S", "OH-USERS"])).toContain("--limit-iface-in");
  });

  it.each([
    ["no settings file", undefined, "settings file /nonexistent/firewall.env is missing"],
    ["no VPC CIDR", "DATABASE_PORT=5432\n", "VPC_CIDRS is missing or empty"],
    ["a rule smuggled into the VPC CIDRs", "VPC_CIDRS=10.0.0.0/16 -j ACCEPT\nDATABASE_PORT=5432\n", '"-j" is not an IPv4 CIDR'],
    ["an octet above 255", "VPC_CIDRS=10.0.0.0/16 10.300.0.0/16\nDATABASE_PORT=5432\n", '"10.300.0.0/16" is not an IPv4 CIDR'],
    [
      "a VPC overlapping the user networks (it would swallow them)",
      "VPC_CIDRS=10.0.0.0/8\nDATABASE_PORT=5432\n",
      '"10.0.0.0/8" overlaps the user networks 10.240.0.0/16',
    ],
    ["a port range for the database", "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=1:65535\n", 'DATABASE_PORT: "1:65535" is not a TCP port'],
    ["an unknown setting", "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\nEXTRA_RULE=-j ACCEPT\n", 'unknown line "EXTRA_RULE=-j ACCEPT"'],
  ])("GIVEN %s WHEN oh-firewall.sh runs THEN it refuses clearly and leaves the loaded rules alone", (_case, content, message) => {
    let file = "/nonexistent/firewall.env";
    if (content !== undefined) {
      file = join(settingsDir, "bad.env");
      writeFileSync(file, content);
    }
    const before = lab.exec(lab.host, "iptables", ["-S", "OH-FORWARD"]);
    expect(failure([join(FIREWALL_DIR, "oh-firewall.rules"), file])).toContain(message);
    expect(lab.exec(lab.host, "iptables", ["-S", "OH-FORWARD"])).toBe(before);
    expect(before).toContain(`-d ${VPC_CIDR} -i ohu-+ -j DROP`);
  });
});
