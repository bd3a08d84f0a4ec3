/**
 * A model of the host's networking, built from network namespaces: one namespace plays the EC2 host
 * (user bridges, the host's own listeners, Docker's iptables rules, then ours), one plays the VPC
 * (instance metadata service, "internet", a neighbour that routes 10.240.0.0/16 through the host), and
 * one per container (apps at .2, sandboxes at .3 and up) hangs on its user's bridge through a veth pair.
 *
 * Docker's own rules are a contract fake written from moby's bridge driver (libnetwork
 * drivers/bridge/setup_ip_tables.go, Docker 25, the version AL2023 ships) for user-defined bridges with
 * `enable_icc=false` and the userland proxy on: nat DOCKER chain with a RETURN per bridge (no hairpin)
 * and a DNAT per published port, FORWARD policy DROP, DOCKER-USER first, isolation stages, and the ICC drop.
 * docker-proxy itself is played by a listener on the gateway address and published port.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

export interface LabContainer {
  readonly name: string;
  readonly user: LabUser;
  readonly ip: string;
  /** Port the container listens on (3000 for an app, 8000 for a sandbox's agent-server). */
  readonly port: number;
  /** Published host port on the user's gateway (sandboxes only). */
  readonly publishedPort?: number;
}

export interface LabUser {
  readonly key: string;
  readonly bridge: string;
  readonly subnetIndex: number;
  readonly gateway: string;
}

export interface LabSpec {
  readonly users: readonly { key: string; bridge: string; subnetIndex: number }[];
  /** `host` is the last octet of the container's address on its user's /24. */
  readonly containers: readonly { name: string; user: string; host: number; port: number; publishedPort?: number }[];
}

export interface ProbeTarget {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  /** The source address to connect from (one of the namespace's own); the kernel picks one when left out. */
  readonly localAddress?: string;
}

export interface ProbeResult {
  readonly id: string;
  readonly connected: boolean;
  readonly banner?: string;
  readonly error?: string;
}

const SUPPORT = __dirname;
/** The VPC this lab's host lives in (passed to the firewall as its VPC_CIDRS), and addresses in it. */
export const VPC_CIDR = "10.0.0.0/16";
export const HOST_PRIMARY_IP = "10.0.1.5";
export const VPC_ROUTER_IP = "10.0.1.1";
/** AmazonProvidedDNS: the VPC's base address + 2. */
export const VPC_DNS_IP = "10.0.0.2";
/** Aurora's writer, in another subnet of the VPC. */
export const AURORA_IP = "10.0.2.50";
/** Any other service in the VPC (an interface endpoint, another team's instance). */
export const VPC_SERVICE_IP = "10.0.3.7";
/** A private network outside the VPC, reached through peering or a transit gateway. */
export const PEERED_IP = "172.31.5.5";
export const IMDS_IP = "169.254.169.254";
/** Another link-local service (the shape of ECS's credentials endpoint). */
export const LINK_LOCAL_SERVICE_IP = "169.254.170.2";
export const INTERNET_IP = "198.51.100.7";
/** IPv6 link-local addresses: every user bridge's (the host's side) and each container's is fe80::<last octet of its IPv4 address>. */
export const BRIDGE_LINK_LOCAL = "fe80::1";

/** Whether this machine can build the lab (root, `ip netns`, iptables with addrtype); the reason if not. */
export function labUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return "not running as root";
  const name = `ohchk${process.pid}${randomBytes(2).toString("hex")}`;
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: "pipe" });
  } catch (err) {
    return `"ip netns add" failed: ${(err as Error).message.split("\n")[0]}`;
  }
  try {
    execFileSync(
      "ip",
      ["netns", "exec", name, "iptables", "-w", "-A", "INPUT", "-m", "addrtype", "--dst-type", "LOCAL", "--limit-iface-in", "-j", "RETURN"],
      { stdio: "pipe" },
    );
    execFileSync("ip", ["netns", "exec", name, "ip", "link", "add", "brchk", "type", "bridge"], { stdio: "pipe" });
  } catch (err) {
    return `iptables or bridges do not work inside a network namespace: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    execFileSync("ip", ["netns", "del", name], { stdio: "pipe" });
  }
  return undefined;
}

export class NetnsLab {
  readonly prefix = `oh${process.pid % 100000}${randomBytes(2).toString("hex")}`;
  readonly host = `${this.prefix}-host`;
  readonly vpc = `${this.prefix}-vpc`;
  readonly users: LabUser[] = [];
  readonly containers: LabContainer[] = [];
  private readonly namespaces: string[] = [];
  private readonly listeners: ChildProcess[] = [];
  private readonly exitHook = () => this.destroySync();

  constructor() {
    process.on("exit", this.exitHook);
  }

  ns(container: string): string {
    return `${this.prefix}-${container}`;
  }

  /** Runs a command inside a namespace and returns its stdout. */
  exec(ns: string, command: string, args: string[], input?: string): string {
    return execFileSync("ip", ["netns", "exec", ns, command, ...args], { input, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] });
  }

  build(spec: LabSpec): void {
    this.addNamespace(this.host);
    this.addNamespace(this.vpc);
    this.sh(this.host, "sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
    // uplink: the host's primary interface and a VPC router that also answers for IMDS and "internet"
    execFileSync("ip", ["-n", this.host, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", this.vpc]);
    this.sh(this.host, "ip", ["addr", "add", `${HOST_PRIMARY_IP}/24`, "dev", "eth0"]);
    this.sh(this.host, "ip", ["link", "set", "eth0", "up"]);
    this.sh(this.host, "ip", ["route", "add", "default", "via", VPC_ROUTER_IP]);
    this.sh(this.vpc, "ip", ["addr", "add", `${VPC_ROUTER_IP}/24`, "dev", "eth0"]);
    for (const ip of [IMDS_IP, LINK_LOCAL_SERVICE_IP, INTERNET_IP, VPC_DNS_IP, AURORA_IP, VPC_SERVICE_IP, PEERED_IP])
      this.sh(this.vpc, "ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
    this.sh(this.vpc, "ip", ["link", "set", "eth0", "up"]);
    // worst case: a VPC neighbour whose route table sends 10.240.0.0/16 to this host
    this.sh(this.vpc, "ip", ["route", "add", "10.240.0.0/16", "via", HOST_PRIMARY_IP]);

    for (const u of spec.users) {
      const user: LabUser = { ...u, gateway: `10.240.${u.subnetIndex}.1` };
      this.users.push(user);
      this.sh(this.host, "ip", ["link", "add", user.bridge, "type", "bridge"]);
      this.sh(this.host, "ip", ["addr", "add", `${user.gateway}/24`, "dev", user.bridge]);
      // the kernel gives a bridge a link-local address of its own; a fixed one (no duplicate detection) is easier to aim at
      this.sh(this.host, "ip", ["-6", "addr", "add", `${BRIDGE_LINK_LOCAL}/64`, "dev", user.bridge, "nodad"]);
      this.sh(this.host, "ip", ["link", "set", user.bridge, "up"]);
    }
    for (const c of spec.containers) {
      const user = this.users.find((u) => u.key === c.user);
      if (!user) throw new Error(`lab: container ${c.name} names unknown user ${c.user}`);
      const container: LabContainer = {
        name: c.name,
        user,
        ip: `10.240.${user.subnetIndex}.${c.host}`,
        port: c.port,
        publishedPort: c.publishedPort,
      };
      this.containers.push(container);
      const ns = this.ns(c.name);
      this.addNamespace(ns);
      const hostSide = `v${c.name}`.slice(0, 15);
      execFileSync("ip", ["-n", this.host, "link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns]);
      this.sh(this.host, "ip", ["link", "set", hostSide, "master", user.bridge, "up"]);
      this.sh(ns, "ip", ["addr", "add", `${container.ip}/24`, "dev", "eth0"]);
      this.sh(ns, "ip", ["-6", "addr", "add", `fe80::${c.host}/64`, "dev", "eth0", "nodad"]);
      this.sh(ns, "ip", ["link", "set", "eth0", "up"]);
      this.sh(ns, "ip", ["route", "add", "default", "via", user.gateway]);
    }
  }

  /** The iptables rules Docker 25 installs for these bridges and published ports (see the file comment). */
  dockerRules(): string {
    const nat = [
      "*nat",
      ":DOCKER - [0:0]",
      "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
      "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER",
    ];
    const filter = [
      "*filter",
      ":FORWARD DROP [0:0]",
      ":DOCKER - [0:0]",
      ":DOCKER-ISOLATION-STAGE-1 - [0:0]",
      ":DOCKER-ISOLATION-STAGE-2 - [0:0]",
      ":DOCKER-USER - [0:0]",
      "-A FORWARD -j DOCKER-USER",
      "-A FORWARD -j DOCKER-ISOLATION-STAGE-1",
    ];
    for (const u of this.users) {
      nat.push(`-A POSTROUTING -s 10.240.${u.subnetIndex}.0/24 ! -o ${u.bridge} -j MASQUERADE`);
      nat.push(`-A DOCKER -i ${u.bridge} -j RETURN`);
      filter.push(
        `-A FORWARD -o ${u.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A FORWARD -o ${u.bridge} -j DOCKER`,
        `-A FORWARD -i ${u.bridge} ! -o ${u.bridge} -j ACCEPT`,
        `-A FORWARD -i ${u.bridge} -o ${u.bridge} -j DROP`,
        `-A DOCKER-ISOLATION-STAGE-1 -i ${u.bridge} ! -o ${u.bridge} -j DOCKER-ISOLATION-STAGE-2`,
        `-A DOCKER-ISOLATION-STAGE-2 -o ${u.bridge} -j DROP`,
      );
    }
    for (const c of this.containers) {
      if (c.publishedPort === undefined) continue;
      nat.push(
        `-A DOCKER -d ${c.user.gateway}/32 ! -i ${c.user.bridge} -p tcp -m tcp --dport ${c.publishedPort} -j DNAT --to-destination ` +
          `${c.ip}:${c.port}`,
      );
      filter.push(`-A DOCKER -d ${c.ip}/32 ! -i ${c.user.bridge} -o ${c.user.bridge} -p tcp -m tcp --dport ${c.port} -j ACCEPT`);
    }
    filter.push("-A DOCKER-ISOLATION-STAGE-1 -j RETURN", "-A DOCKER-ISOLATION-STAGE-2 -j RETURN", "-A DOCKER-USER -j RETURN");
    return [...nat, "COMMIT", ...filter, "COMMIT", ""].join("\n");
  }

  applyDockerRules(): void {
    this.sh(this.host, "sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1"]);
    this.exec(this.host, "iptables-restore", ["-w"], this.dockerRules());
  }

  /** Starts a listener in a namespace on each address; resolves once all listen. */
  async listen(ns: string, label: string, addresses: string[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(SUPPORT, "tcp-listener.cjs"), label, ...addresses], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.listeners.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout!.on("data", (chunk) => {
        out += chunk;
        if (out.includes("ready")) resolve();
      });
      child.stderr!.on("data", (chunk) => (err += chunk));
      child.on("exit", (code) => reject(new Error(`listener ${label} in ${ns} exited (${code}): ${err}`)));
    });
  }

  /** Tries every target from a namespace at once. */
  async probe(ns: string, targets: ProbeTarget[], timeoutMs = 800): Promise<ProbeResult[]> {
    const child = spawn(
      "ip",
      ["netns", "exec", ns, process.execPath, join(SUPPORT, "tcp-probe.cjs"), JSON.stringify(targets), String(timeoutMs)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout!.on("data", (chunk) => (out += chunk));
    child.stderr!.on("data", (chunk) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`probe from ${ns} failed (${code}): ${err}`);
    return JSON.parse(out) as ProbeResult[];
  }

  async destroy(): Promise<void> {
    await Promise.all(
      this.listeners.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
    this.destroySync();
  }

  private destroySync(): void {
    for (const child of this.listeners) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const ns of this.namespaces.splice(0).reverse()) {
      try {
        execFileSync("ip", ["netns", "del", ns], { stdio: "pipe" });
      } catch {
        // already gone
      }
    }
    process.removeListener("exit", this.exitHook);
  }

  private addNamespace(ns: string): void {
    execFileSync("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    this.sh(ns, "ip", ["link", "set", "lo", "up"]);
  }

  private sh(ns: string, command: string, args: string[]): void {
    execFileSync("ip", ["netns", "exec", ns, command, ...args], { stdio: "pipe" });
  }
}
