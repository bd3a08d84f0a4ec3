/**
 * The host firewall on a real Docker engine (@openhands-team/docker-lab). This test process runs in the lab's
 * network namespace, beside dockerd: it is the host. Two users' networks are created as the spawner creates them
 * (same engine API body), their apps and sandboxes are real containers of the Node stand-in image (app at the
 * fixed `.2`, sandboxes from `.128/25` with their port published on the user's gateway, NET_RAW dropped), and
 * the host's services are played by listeners in this namespace: the relays on each gateway (piping to the
 * user's app, as the relay passes callbacks on), the LLM gateway, OpenResty, the control API, a PostgreSQL and
 * sshd. A second namespace plays the VPC behind the host's primary interface: its resolver, Aurora, another
 * service, a peered network, the metadata service and "the internet". The VPC has two CIDRs, a private primary
 * one and a secondary one outside private space (Aurora lives there), so the VPC rule itself is what refuses
 * a sandbox there, not the rules for private networks.
 *
 * The real oh-firewall.sh is applied in this namespace with the VPC's CIDRs as its settings, before the
 * networks exist (as at boot: the firewall runs before docker.service), and every row is a real TCP connection
 * from inside a container (`docker exec ... node tcp-probe.cjs`) that must, or must not, receive the listener's
 * banner. Rows marked `firewall` connect with Docker's rules alone: the first test shows it, so each is ours.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithEngine, docker, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { names, slugForSub, userSubnet } from "@openhands-team/spawner";
import type { ProbeResult } from "./support/netns-lab";

jest.setTimeout(180_000);

const FIREWALL_DIR = join(__dirname, "..", "files", "host-bundle", "firewall");
const SUPPORT = join(__dirname, "support");
// A dropped SYN is only seen as a timeout; allowed connections answer in milliseconds.
const PROBE_TIMEOUT_MS = 3000;

// ---- the VPC, behind the host's primary interface -------------------------------------------------
const VPC_CIDRS = ["10.99.0.0/16", "198.18.0.0/16"];
const HOST_IP = "10.99.1.5";
const VPC_ROUTER = "10.99.1.1";
/** AmazonProvidedDNS: the primary CIDR's base + 2. */
const VPC_DNS = "10.99.0.2";
/** Aurora, in the secondary CIDR (outside private space). */
const AURORA = "198.18.2.50";
const VPC_SERVICE = "10.99.3.7";
const PEERED = "172.31.5.5";
const IMDS = "169.254.169.254";
const INTERNET = "198.51.100.7";
const DB_PORT = 5432;

// ---- the users, named and addressed as the spawner does ------------------------------------------
interface User {
  readonly key: string;
  readonly slug: string;
  readonly network: string;
  readonly bridge: string;
  readonly subnet: ReturnType<typeof userSubnet>;
}

function user(key: string, index: number): User {
  const slug = slugForSub(`firewall-lab-user-${key}-${process.pid}`);
  return { key, slug, network: names.network(slug), bridge: names.bridge(slug), subnet: userSubnet("10.240", index) };
}

// high subnet indexes: a spawner running in the same lab starts from 1
const A = user("a", 201);
const B = user("b", 202);
const C = user("c", 203);

interface Container {
  readonly label: string;
  readonly user?: User;
  readonly role: "app" | "sandbox" | "stray";
  readonly port: number;
  name: string;
  ip: string;
  /** `<gateway>:<host port>` dockerd published the sandbox's port on. */
  published?: string;
}

const CONTAINERS: Record<string, Container> = {
  appA: { label: "appA", user: A, role: "app", port: 3000, name: names.appContainer(A.slug), ip: A.subnet.appAddress },
  sbxA1: { label: "sbxA1", user: A, role: "sandbox", port: 8000, name: `${names.sandboxPrefix(A.slug)}sbx1`, ip: "" },
  sbxA2: { label: "sbxA2", user: A, role: "sandbox", port: 8000, name: `${names.sandboxPrefix(A.slug)}sbx2`, ip: "" },
  appB: { label: "appB", user: B, role: "app", port: 3000, name: names.appContainer(B.slug), ip: B.subnet.appAddress },
  sbxB1: { label: "sbxB1", user: B, role: "sandbox", port: 8000, name: `${names.sandboxPrefix(B.slug)}sbx1`, ip: "" },
  // a container outside every user bridge (Docker's default bridge): what a create the filter got wrong would give
  stray: { label: "stray", role: "stray", port: 8000, name: `oh-fw-stray-${process.pid}`, ip: "" },
};
const c = (label: keyof typeof CONTAINERS | string): Container => CONTAINERS[label]!;

interface Row {
  readonly from: string;
  readonly to: () => string;
  readonly port: () => number;
  readonly allow: boolean;
  /** Refused only because of our rules: Docker's own rules let it through. */
  readonly firewall?: boolean;
  /** The banner an allowed connection must bring back (who really answered). */
  readonly banner?: () => string;
  readonly why: string;
}

const fixed = (value: string) => () => value;
const port = (value: number) => () => value;
const publishedHost = (label: string) => () => c(label).published!.split(":")[0]!;
const publishedPort = (label: string) => () => Number(c(label).published!.split(":")[1]);
const ipOf = (label: string) => () => c(label).ip;

const allow = (from: string, to: () => string, p: () => number, why: string, banner?: () => string): Row => ({
  from,
  to,
  port: p,
  allow: true,
  why,
  banner,
});
const deny = (from: string, to: () => string, p: () => number, why: string, firewall = true): Row => ({
  from,
  to,
  port: p,
  allow: false,
  firewall,
  why,
});

const MATRIX: Row[] = [
  // a sandbox of user A
  allow("sbxA1", fixed(A.subnet.gateway), port(3000), "its own app, through its own relay on its own gateway", () => "appA 0.0.0.0:3000"),
  allow("sbxA1", fixed(A.subnet.gateway), port(4000), "the LLM gateway on its own gateway"),
  allow("sbxA1", fixed(VPC_DNS), port(53), "the VPC resolver (Docker's embedded DNS forwards from the container's namespace)"),
  allow("sbxA1", fixed(INTERNET), port(443), "the internet"),
  deny("sbxA1", ipOf("appA"), port(3000), "its own app directly (ICC off: the app lists sandboxes with their keys)", false),
  deny("sbxA1", ipOf("sbxA2"), port(8000), "its sibling sandbox directly (ICC off)", false),
  deny("sbxA1", publishedHost("sbxA2"), publishedPort("sbxA2"), "its sibling sandbox through the sibling's published port"),
  deny("sbxA1", ipOf("appB"), port(3000), "user B's app", false),
  deny("sbxA1", ipOf("sbxB1"), port(8000), "user B's sandbox", false),
  deny("sbxA1", fixed(B.subnet.gateway), port(3000), "user B's relay (forged callbacks into B's app)"),
  deny("sbxA1", publishedHost("sbxB1"), publishedPort("sbxB1"), "user B's sandbox through its published port"),
  deny("sbxA1", ipOf("stray"), port(8000), "a container on Docker's default bridge", false),
  deny("sbxA1", fixed(A.subnet.gateway), port(8081), "the control API on its own gateway"),
  deny("sbxA1", fixed(HOST_IP), port(8081), "the control API on the host's primary address"),
  deny("sbxA1", fixed("127.0.0.1"), port(8081), "the control API's loopback address (its own loopback: nothing there)", false),
  deny("sbxA1", fixed(A.subnet.gateway), port(8080), "OpenResty from inside (forged identity headers)"),
  deny("sbxA1", fixed(A.subnet.gateway), port(DB_PORT), "a PostgreSQL on the host, through its gateway"),
  deny("sbxA1", fixed(HOST_IP), port(DB_PORT), "a PostgreSQL on the host's primary address"),
  deny("sbxA1", fixed(HOST_IP), port(4000), "the LLM gateway through the host's primary address"),
  deny("sbxA1", fixed("172.17.0.1"), port(4000), "the LLM gateway through Docker's default gateway address"),
  deny("sbxA1", fixed("172.17.0.1"), port(8081), "the control API through Docker's default gateway address"),
  deny("sbxA1", fixed(A.subnet.gateway), port(22), "sshd"),
  deny("sbxA1", fixed(IMDS), port(80), "instance metadata: the instance role's credentials"),
  deny("sbxA1", fixed(AURORA), port(DB_PORT), "Aurora (the DB security group admits the host)"),
  deny("sbxA1", fixed(VPC_SERVICE), port(8443), "another service in the VPC"),
  deny("sbxA1", fixed(VPC_ROUTER), port(2049), "NFS to an EFS mount target"),
  deny("sbxA1", fixed(VPC_DNS), port(8443), "the resolver's address on another port"),
  deny("sbxA1", fixed(PEERED), port(443), "a private network beyond the VPC"),
  // the other sandboxes
  allow("sbxA2", fixed(A.subnet.gateway), port(3000), "its own relay", () => "appA 0.0.0.0:3000"),
  deny("sbxA2", publishedHost("sbxA1"), publishedPort("sbxA1"), "its sibling through the sibling's published port"),
  allow("sbxB1", fixed(B.subnet.gateway), port(3000), "its own app through its own relay", () => "appB 0.0.0.0:3000"),
  allow("sbxB1", fixed(B.subnet.gateway), port(4000), "the LLM gateway on its own gateway"),
  deny("sbxB1", fixed(A.subnet.gateway), port(3000), "user A's relay"),
  deny("sbxB1", fixed(A.subnet.gateway), port(4000), "the LLM gateway through user A's gateway"),
  deny("sbxB1", publishedHost("sbxA1"), publishedPort("sbxA1"), "user A's sandbox through its published port"),
  deny("sbxB1", ipOf("appA"), port(3000), "user A's app", false),
  deny("sbxB1", fixed(AURORA), port(DB_PORT), "Aurora"),
  deny("sbxB1", fixed(IMDS), port(80), "instance metadata"),
  // the app of user A
  allow("appA", publishedHost("sbxA1"), publishedPort("sbxA1"), "its own sandbox through the published port", () => `sbxA1 0.0.0.0:8000`),
  allow("appA", publishedHost("sbxA2"), publishedPort("sbxA2"), "its other sandbox's published port", () => `sbxA2 0.0.0.0:8000`),
  allow("appA", fixed(AURORA), port(DB_PORT), "Aurora (its database)"),
  allow("appA", fixed(IMDS), port(80), "instance metadata from the app's fixed address (S3 events)"),
  allow("appA", fixed(VPC_DNS), port(53), "the VPC resolver"),
  allow("appA", fixed(INTERNET), port(443), "the internet and AWS APIs"),
  allow("appA", fixed(A.subnet.gateway), port(4000), "the LLM gateway"),
  deny("appA", publishedHost("sbxB1"), publishedPort("sbxB1"), "user B's sandbox through B's published port"),
  deny("appA", fixed(B.subnet.gateway), port(3000), "user B's relay"),
  deny("appA", ipOf("sbxA1"), port(8000), "its own sandbox directly (only through the published port)", false),
  deny("appA", ipOf("appB"), port(3000), "user B's app", false),
  deny("appA", fixed(AURORA), port(8443), "Aurora's address on another port"),
  deny("appA", fixed(VPC_SERVICE), port(8443), "another service in the VPC"),
  deny("appA", fixed(PEERED), port(443), "a private network beyond the VPC"),
  deny("appA", fixed(A.subnet.gateway), port(8081), "the control API"),
  deny("appA", fixed(HOST_IP), port(DB_PORT), "a PostgreSQL on the host"),
  // the app of user B
  allow("appB", publishedHost("sbxB1"), publishedPort("sbxB1"), "its own sandbox through the published port", () => `sbxB1 0.0.0.0:8000`),
  allow("appB", fixed(AURORA), port(DB_PORT), "Aurora (its database)"),
  deny("appB", publishedHost("sbxA1"), publishedPort("sbxA1"), "user A's sandbox through A's published port"),
  deny("appB", ipOf("sbxA1"), port(8000), "user A's sandbox directly", false),
  // a container outside every user bridge
  deny("stray", fixed(IMDS), port(80), "instance metadata"),
  deny("stray", fixed(AURORA), port(DB_PORT), "Aurora"),
  deny("stray", fixed(INTERNET), port(443), "the internet (it should not exist at all)"),
  deny("stray", fixed("172.17.0.1"), port(4000), "the LLM gateway on Docker's default gateway"),
  deny("stray", fixed(A.subnet.gateway), port(3000), "user A's relay"),
  deny("stray", ipOf("sbxA1"), port(8000), "user A's sandbox", false),
  // processes of the host
  allow("host", ipOf("appA"), port(3000), "OpenResty to user A's app"),
  allow("host", ipOf("sbxB1"), port(8000), "OpenResty to user B's sandbox"),
  allow("host", publishedHost("sbxA1"), publishedPort("sbxA1"), "OpenResty to a published port"),
  allow("host", fixed(AURORA), port(DB_PORT), "the spawner to Aurora"),
  allow("host", fixed(IMDS), port(80), "host processes to instance metadata"),
  // the VPC
  allow("vpc", fixed(HOST_IP), port(8080), "the ALB to OpenResty"),
  deny("vpc", fixed(HOST_IP), port(8081), "the control API from the VPC"),
  deny("vpc", fixed(HOST_IP), port(4000), "the LLM gateway from the VPC"),
  deny("vpc", fixed(A.subnet.gateway), port(3000), "a relay, routed through the host"),
  deny("vpc", ipOf("sbxA1"), port(8000), "a sandbox, routed straight to it (Docker's DOCKER chain accepts it)"),
  deny("vpc", ipOf("appA"), port(3000), "an app, routed straight to it", false),
];

const id = (row: Row) => `${row.from} -> ${row.to()}:${row.port()}`;

// ---- plumbing --------------------------------------------------------------------------------------
function sh(command: string, args: string[]): string {
  return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** One call to the engine's API over its socket, as the spawner's Docker client makes it. */
function engine(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: labEngine()!.socketPath,
        method,
        path,
        headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** The user's network, with the body the spawner's DockerAppBackend.place() sends (packages/spawner/src/docker/app-backend.ts). */
async function createUserNetwork(u: User): Promise<void> {
  const res = await engine("POST", "/networks/create", {
    Name: u.network,
    Driver: "bridge",
    CheckDuplicate: true,
    Internal: false,
    Attachable: false,
    IPAM: { Driver: "default", Config: [{ Subnet: u.subnet.subnet, Gateway: u.subnet.gateway, IPRange: u.subnet.dynamicRange }] },
    Options: { "com.docker.network.bridge.name": u.bridge, "com.docker.network.bridge.enable_icc": "false" },
    Labels: { "org.openhands-team.owner": u.slug },
  });
  if (res.status !== 201) throw new Error(`network ${u.network}: ${res.status} ${res.body}`);
}

function waitForLine(child: ChildProcess, what: string, line = "ready"): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes(line)) resolve();
    });
    child.stderr!.on("data", (chunk) => (err += chunk));
    child.on("exit", (code) => reject(new Error(`${what} exited (${code}): ${err}`)));
  });
}

describeWithEngine("host firewall on a real Docker engine (user networks, containers, docker-proxy)", () => {
  const vpcNs = `ohfwvpc${process.pid}`;
  const settingsDir = mkdtempSync(join(tmpdir(), "oh-fw-docker-"));
  const settings = join(settingsDir, "firewall.env");
  const children: ChildProcess[] = [];
  let image = "";

  function background(command: string, args: string[], what: string, readyLine = "ready"): Promise<void> {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    return waitForLine(child, what, readyLine);
  }

  function applyFirewall(): string {
    return execFileSync("bash", [join(FIREWALL_DIR, "oh-firewall.sh"), join(FIREWALL_DIR, "oh-firewall.rules"), settings], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  function removeFirewall(): void {
    for (const tool of ["iptables", "ip6tables"]) {
      for (const [from, to] of [
        ["INPUT", "OH-INPUT"],
        ["DOCKER-USER", "OH-FORWARD"],
      ] as const) {
        while (
          execFileSync("sh", ["-c", `${tool} -w -D ${from} -j ${to} 2>/dev/null && echo removed || true`], { encoding: "utf8" }).includes(
            "removed",
          )
        );
      }
      for (const chain of ["OH-INPUT", "OH-USERS", "OH-FORWARD"])
        execFileSync("sh", ["-c", `${tool} -w -F ${chain} 2>/dev/null; ${tool} -w -X ${chain} 2>/dev/null; true`]);
    }
  }

  async function runContainer(ct: Container): Promise<void> {
    const args = ["run", "-d", "--name", ct.name, "--cap-drop", "NET_RAW", "-v", `${SUPPORT}:/oh-test:ro`];
    // dockerd hands containers the host's resolver (on an EC2 host, the VPC's); here it is named explicitly
    if (ct.user) args.push("--network", ct.user.network, "--dns", VPC_DNS);
    if (ct.role === "app") args.push("--ip", ct.user!.subnet.appAddress);
    // sandbox ports: published on the owner's gateway, the host port left to dockerd (the filter's create rewrite)
    if (ct.role === "sandbox") args.push("-p", `${ct.user!.subnet.gateway}::${ct.port}`);
    args.push(image, "node", "/oh-test/tcp-listener.cjs", ct.label, `0.0.0.0:${ct.port}`);
    docker(args);
    const inspect = JSON.parse(docker(["inspect", ct.name]).stdout)[0] as {
      NetworkSettings: {
        Networks: Record<string, { IPAddress: string }>;
        Ports: Record<string, { HostIp: string; HostPort: string }[] | null>;
      };
    };
    ct.ip = Object.values(inspect.NetworkSettings.Networks)[0]!.IPAddress;
    const binding = inspect.NetworkSettings.Ports[`${ct.port}/tcp`]?.[0];
    if (binding) ct.published = `${binding.HostIp}:${binding.HostPort}`;
    // listening: the listener prints "ready"
    for (let i = 0; i < 100 && !docker(["logs", ct.name]).stdout.includes("ready"); i += 1) await new Promise((r) => setTimeout(r, 100));
  }

  function probe(from: string, rows: Row[]): Promise<ProbeResult[]> {
    const targets = JSON.stringify(rows.map((r) => ({ id: id(r), host: r.to(), port: r.port() })));
    const command =
      from === "host"
        ? [process.execPath, join(SUPPORT, "tcp-probe.cjs"), targets, String(PROBE_TIMEOUT_MS)]
        : from === "vpc"
          ? ["ip", "netns", "exec", vpcNs, process.execPath, join(SUPPORT, "tcp-probe.cjs"), targets, String(PROBE_TIMEOUT_MS)]
          : ["docker", "exec", c(from).name, "node", "/oh-test/tcp-probe.cjs", targets, String(PROBE_TIMEOUT_MS)];
    return new Promise((resolve, reject) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout.on("data", (chunk) => (out += chunk));
      child.stderr.on("data", (chunk) => (err += chunk));
      child.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(out) as ProbeResult[]) : reject(new Error(`probe from ${from} failed (${code}): ${err}`)),
      );
    });
  }

  async function run(rows: Row[]): Promise<Map<string, ProbeResult>> {
    const sources = [...new Set(rows.map((r) => r.from))];
    const results = await Promise.all(
      sources.map((from) =>
        probe(
          from,
          rows.filter((r) => r.from === from),
        ),
      ),
    );
    return new Map(results.flat().map((r) => [r.id, r]));
  }

  function outcome(rows: Row[], results: Map<string, ProbeResult>): string[] {
    return rows.map((r) => {
      const res = results.get(id(r))!;
      const wrongBanner = res.connected && r.banner && res.banner !== r.banner() ? ` but answered by "${res.banner}"` : "";
      return `${id(r)}: ${res.connected ? "connected" : "refused"}${wrongBanner} (${r.why})`;
    });
  }

  beforeAll(async () => {
    image = await ensureImage(STAND_IN.node);
    writeFileSync(settings, `VPC_CIDRS=${VPC_CIDRS.join(" ")}\nDATABASE_PORT=${DB_PORT}\n`);

    // the VPC behind the host's primary interface; the host routes the VPC, the metadata service and "the internet" there
    sh("ip", ["netns", "add", vpcNs]);
    sh("ip", ["link", "add", "ohfwvpc0", "type", "veth", "peer", "name", "eth0", "netns", vpcNs]);
    sh("ip", ["addr", "add", `${HOST_IP}/24`, "dev", "ohfwvpc0"]);
    sh("ip", ["link", "set", "ohfwvpc0", "up"]);
    for (const cidr of [...VPC_CIDRS, `${IMDS}/32`, "198.51.100.0/24", "172.31.0.0/16"])
      sh("ip", ["route", "replace", cidr, "via", VPC_ROUTER]);
    const inVpc = (...args: string[]) => sh("ip", ["netns", "exec", vpcNs, ...args]);
    inVpc("ip", "link", "set", "lo", "up");
    inVpc("ip", "addr", "add", `${VPC_ROUTER}/24`, "dev", "eth0");
    inVpc("ip", "link", "set", "eth0", "up");
    for (const ip of [VPC_DNS, AURORA, VPC_SERVICE, PEERED, IMDS, INTERNET]) inVpc("ip", "addr", "add", `${ip}/32`, "dev", "lo");
    // worst case: a VPC neighbour whose route table sends the user networks to this host
    inVpc("ip", "route", "add", "10.240.0.0/16", "via", HOST_IP);

    // the firewall goes on first, as at boot (oh-firewall.service runs before docker.service)
    applyFirewall();

    for (const u of [A, B]) await createUserNetwork(u);
    for (const ct of Object.values(CONTAINERS)) await runContainer(ct);

    await Promise.all([
      // the host's services; OpenResty, the LLM gateway, the control API, PostgreSQL and sshd listen everywhere (the
      // worst case: the real control API listens on loopback only)
      background(
        process.execPath,
        [join(SUPPORT, "tcp-listener.cjs"), "host", "0.0.0.0:8080", "0.0.0.0:8081", "0.0.0.0:4000", `0.0.0.0:${DB_PORT}`, "0.0.0.0:22"],
        "host listeners",
      ),
      background(process.execPath, [join(SUPPORT, "tcp-relay.cjs"), `${A.subnet.gateway}:3000`, `${A.subnet.appAddress}:3000`], "relay A"),
      background(process.execPath, [join(SUPPORT, "tcp-relay.cjs"), `${B.subnet.gateway}:3000`, `${B.subnet.appAddress}:3000`], "relay B"),
      background(
        "ip",
        ["netns", "exec", vpcNs, process.execPath, join(SUPPORT, "dns-answer.cjs"), AURORA, `${VPC_DNS}:53`, `${VPC_SERVICE}:53`],
        "DNS resolvers",
      ),
      background(
        "ip",
        [
          "netns",
          "exec",
          vpcNs,
          process.execPath,
          join(SUPPORT, "tcp-listener.cjs"),
          "vpc",
          `${VPC_DNS}:53`,
          `${VPC_DNS}:8443`,
          `${AURORA}:${DB_PORT}`,
          `${AURORA}:8443`,
          `${VPC_SERVICE}:8443`,
          `${VPC_ROUTER}:2049`,
          `${PEERED}:443`,
          `${IMDS}:80`,
          `${INTERNET}:443`,
        ],
        "VPC listeners",
      ),
    ]);
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
    docker(["rm", "-f", ...Object.values(CONTAINERS).map((ct) => ct.name)], { allowFailure: true });
    for (const u of [A, B, C]) docker(["network", "rm", u.network], { allowFailure: true });
    try {
      sh("ip", ["link", "del", "ohfwvpc0"]);
    } catch {
      // already gone
    }
    for (const cidr of [...VPC_CIDRS, `${IMDS}/32`, "198.51.100.0/24", "172.31.0.0/16"])
      execFileSync("sh", ["-c", `ip route del ${cidr} 2>/dev/null; true`]);
    execFileSync("sh", ["-c", `ip netns del ${vpcNs} 2>/dev/null; true`]);
    removeFirewall();
    rmSync(settingsDir, { recursive: true, force: true });
  });

  it(
    "GIVEN the user networks as the spawner creates them THEN they are the bridges the firewall names (ohu-*, ICC off, the app's .2 " +
      "outside the sandboxes' range)",
    () => {
      for (const u of [A, B]) {
        const network = JSON.parse(docker(["network", "inspect", u.network]).stdout)[0] as {
          Options: Record<string, string>;
          IPAM: { Config: { Subnet: string; Gateway: string; IPRange: string }[] };
        };
        expect(network.Options).toEqual({ "com.docker.network.bridge.name": u.bridge, "com.docker.network.bridge.enable_icc": "false" });
        expect(network.IPAM.Config).toEqual([{ Subnet: u.subnet.subnet, Gateway: u.subnet.gateway, IPRange: u.subnet.dynamicRange }]);
        expect(u.bridge).toMatch(/^ohu-/);
        expect(sh("ip", ["-4", "-o", "addr", "show", "dev", u.bridge])).toContain(`inet ${u.subnet.gateway}/24`);
      }
      expect(c("appA").ip).toBe("10.240.201.2");
      for (const label of ["sbxA1", "sbxA2", "sbxB1"]) {
        expect(Number(c(label).ip.split(".")[3])).toBeGreaterThanOrEqual(128);
        expect(c(label).published).toMatch(new RegExp(`^${c(label).user!.subnet.gateway.replace(/\./g, "\\.")}:\\d+$`));
      }
    },
  );

  it(
    "GIVEN Docker's rules alone WHEN the attacks our firewall exists for are " + "tried THEN they connect (so every firewall row is ours)",
    async () => {
      removeFirewall();
      try {
        const rows = MATRIX.filter((r) => r.firewall);
        const results = await run(rows);
        expect(outcome(rows, results)).toEqual(rows.map((r) => `${id(r)}: connected (${r.why})`));
      } finally {
        applyFirewall();
      }
    },
  );

  it(
    "GIVEN oh-firewall.sh applied WHEN every pair is tried from inside real containers THEN exactly the allowed ones connect, each " +
      "to the listener it was meant for",
    async () => {
      const results = await run(MATRIX);
      expect(outcome(MATRIX, results)).toEqual(MATRIX.map((r) => `${id(r)}: ${r.allow ? "connected" : "refused"} (${r.why})`));
    },
  );

  it(
    "GIVEN the firewall applied WHEN dockerd creates another user's network and a sandbox THEN our rules stay first and hold for the " +
      "new bridge too",
    async () => {
      await createUserNetwork(C);
      const sandbox: Container = {
        label: "sbxC1",
        user: C,
        role: "sandbox",
        port: 8000,
        name: `${names.sandboxPrefix(C.slug)}sbx1`,
        ip: "",
      };
      CONTAINERS.sbxC1 = sandbox;
      await runContainer(sandbox);
      const forward = sh("iptables", ["-w", "-S", "FORWARD"]).split("\n");
      expect(forward[1]).toBe("-A FORWARD -j DOCKER-USER");
      expect(sh("iptables", ["-w", "-S", "DOCKER-USER"]).split("\n")[1]).toBe("-A DOCKER-USER -j OH-FORWARD");
      const rows = [
        allow("sbxC1", fixed(INTERNET), port(443), "the internet"),
        allow("sbxC1", fixed(VPC_DNS), port(53), "the VPC resolver"),
        deny("sbxC1", fixed(AURORA), port(DB_PORT), "Aurora"),
        deny("sbxC1", fixed(IMDS), port(80), "instance metadata"),
        deny("sbxC1", fixed(A.subnet.gateway), port(3000), "user A's relay"),
        deny("sbxC1", fixed(C.subnet.gateway), port(8081), "the control API"),
        deny("sbxC1", ipOf("appA"), port(3000), "user A's app"),
      ];
      const results = await run(rows);
      expect(outcome(rows, results)).toEqual(rows.map((r) => `${id(r)}: ${r.allow ? "connected" : "refused"} (${r.why})`));
    },
  );

  /** Resolves `name` inside a container, through its configured resolver or straight at `server`; the addresses, or the error code. */
  function resolve(label: string, name: string, server?: string): string {
    const script = `const dns = require("node:dns"); const r = new dns.promises.Resolver({ timeout: ${PROBE_TIMEOUT_MS}, tries: 1 });
      if (process.argv[2]) r.setServers([process.argv[2]]);
      r.resolve4(process.argv[1]).then((a) => console.log(a.join(",")), (e) => console.log(e.code));`;
    return docker(["exec", c(label).name, "node", "-e", script, name, ...(server ? [server] : [])]).stdout.trim();
  }

  it(
    "GIVEN the firewall WHEN containers resolve names THEN Docker's embedded resolver reaches the VPC resolver through the bridge, " +
      "and no other DNS server in the VPC answers",
    () => {
      // the embedded resolver (127.0.0.11) forwards from the container's own namespace: through the bridge and FORWARD
      expect(resolve("sbxA1", "aurora.vpc.test")).toBe(AURORA);
      expect(resolve("appB", "aurora.vpc.test")).toBe(AURORA);
      expect(resolve("sbxA1", "aurora.vpc.test", VPC_DNS)).toBe(AURORA);
      // a DNS server elsewhere in the VPC (a tunnel out past the resolver rule, or a service listening on 53)
      expect(resolve("sbxA1", "aurora.vpc.test", VPC_SERVICE)).toBe("ETIMEOUT");
      expect(resolve("appA", "aurora.vpc.test", VPC_SERVICE)).toBe("ETIMEOUT");
      // which Docker's rules alone let through
      removeFirewall();
      try {
        expect(resolve("sbxA1", "aurora.vpc.test", VPC_SERVICE)).toBe(AURORA);
      } finally {
        applyFirewall();
      }
    },
  );

  it(
    "GIVEN real containers THEN they have no IPv6 (dockerd turns it off on IPv4-only networks) and the IPv6 rules are in place for " +
      "the bridges that do have it",
    () => {
      const out = docker([
        "exec",
        c("sbxA1").name,
        "node",
        "-e",
        "console.log(JSON.stringify(Object.values(require('os').networkInterfaces()).flat().filter((a) => a.family === 'IPv6')))",
      ]).stdout;
      expect(JSON.parse(out)).toEqual([]);
      // the host's side of a user bridge does have a link-local address, which the IPv6 rules close
      expect(sh("ip", ["-6", "-o", "addr", "show", "dev", A.bridge])).toMatch(/inet6 fe80::/);
      expect(sh("ip6tables", ["-w", "-S", "OH-INPUT"])).toContain("-A OH-INPUT -i ohu-+ -j DROP");
      expect(sh("ip6tables", ["-w", "-S", "OH-FORWARD"])).toContain("-A OH-FORWARD -i ohu-+ -j DROP");
    },
  );

  it(
    "GIVEN a user network that is gone WHEN the host connects to one of its addresses THEN the blackhole refuses at once and nothing " +
      "leaves for the default route",
    async () => {
      expect(sh("ip", ["route", "show", "type", "blackhole"])).toContain("blackhole 10.240.0.0/16");
      const gone: User = user("gone", 77);
      await createUserNetwork(gone);
      // the live bridge's own /24 route wins over the blackhole
      expect(sh("ip", ["route", "get", gone.subnet.appAddress])).toContain(gone.bridge);
      const removed = await engine("DELETE", `/networks/${gone.network}`);
      expect(removed.status).toBe(204);
      // now the address is refused by this host at once, with an error, instead of leaving for the default route
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        const socket = connect({ host: gone.subnet.appAddress, port: 3000 });
        socket.setTimeout(3_000, () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.on("connect", () => {
          socket.destroy();
          resolve(undefined);
        });
        socket.on("error", (e: NodeJS.ErrnoException) => resolve(e));
      });
      expect(error?.code).toMatch(/^(EINVAL|ENETUNREACH|EHOSTUNREACH)$/);
    },
  );

  it("GIVEN the blackhole route deleted (by hand) THEN the watchdog's check sees it and applying puts it back", () => {
    sh("ip", ["route", "del", "blackhole", "10.240.0.0/16"]);
    expect(() => sh("bash", [join(FIREWALL_DIR, "oh-firewall.sh"), "--check"])).toThrow();
    applyFirewall();
    expect(sh("bash", [join(FIREWALL_DIR, "oh-firewall.sh"), "--check"])).toBe("");
  });

  it("GIVEN the firewall applied WHEN oh-firewall.sh runs again (as the watchdog and a re-install do) THEN nothing changes", () => {
    const save = (tool: string) =>
      sh(tool, ["-t", "filter"])
        .split("\n")
        .filter((l) => !l.startsWith("#"))
        .map((l) => l.replace(/\[\d+:\d+\]/, ""))
        .join("\n");
    const before = [save("iptables-save"), save("ip6tables-save")];
    applyFirewall();
    expect([save("iptables-save"), save("ip6tables-save")]).toEqual(before);
  });
});
