import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEBIAN_MODULES, DEFAULT_LUA_DIR, parseSettings, renderNginxConf, SettingsError } from "../src";

const minimal = { appHost: "openhands.example.com", runtimeDomain: "runtime.example.com", identityKeyFile: "/etc/oh/identity-key" };

function problemsOf(raw: unknown): string[] {
  try {
    parseSettings(raw, "/lua");
  } catch (error) {
    if (error instanceof SettingsError) return [...error.problems];
    throw error;
  }
  return [];
}

describe("parseSettings", () => {
  it("GIVEN the three required fields THEN the host defaults apply", () => {
    const s = parseSettings(minimal, "/opt/lua");
    expect(s.listen).toEqual({ address: "0.0.0.0", port: 8080 });
    expect(s.spawnerUrl).toBe("http://127.0.0.1:8081");
    expect(s.modules).toEqual([]);
    expect(s.luaDir).toBe("/opt/lua");
    expect(s.runDir).toBe("/usr/local/openresty/nginx");
  });

  it.each([
    [{ ...minimal, appHost: "OpenHands.example.com" }, "settings.appHost"],
    [{ ...minimal, runtimeDomain: "runtime..example.com" }, "settings.runtimeDomain"],
    [{ ...minimal, appHost: "app.runtime.example.com" }, "lies inside the runtime domain"],
    [{ ...minimal, identityKeyFile: "relative/key" }, "settings.identityKeyFile"],
    [{ ...minimal, identityKeyFile: "/etc/oh/key]==]; os.exit()" }, "settings.identityKeyFile"],
    [{ ...minimal, listen: { address: "0.0.0.0", port: 70000 } }, "settings.listen"],
    [{ ...minimal, spawnerUrl: "https://127.0.0.1:8081" }, "settings.spawnerUrl"],
    [{ ...minimal, routeCacheSeconds: 0 }, "settings.routeCacheSeconds"],
    [{ ...minimal, modules: ["ngx_http_lua_module.so"] }, "settings.modules"],
    [{ ...minimal, user: "root; load_module /x.so" }, "settings.user"],
    [{ ...minimal, includs: [] }, "settings.includs: unknown setting"],
    // At or above the upstreams' own 5 s keep-alive, nginx could reuse a connection they are closing (a 502).
    [{ ...minimal, upstreamKeepaliveSeconds: 5 }, "settings.upstreamKeepaliveSeconds"],
    [{ ...minimal, upstreamReadSeconds: 0 }, "settings.upstreamReadSeconds"],
    // Upstreams in loopback, link-local, 0.x or multicast space would reach host services (SSRF).
    [{ ...minimal, userSubnetPrefix: "127.240" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "169.254" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "0.1" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "224.1" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "10.240.0" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "10.256" }, "settings.userSubnetPrefix"],
    [{ ...minimal, userSubnetPrefix: "10.240.0.0/16" }, "settings.userSubnetPrefix"],
    [{ ...minimal, appPort: 0 }, "settings.appPort"],
    // Task subnets outside private space, or not subnets at all, would let a spawner answer steer the proxy anywhere (SSRF).
    [{ ...minimal, taskSubnets: ["169.254.0.0/16"] }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: ["8.8.8.0/24"] }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: ["10.0.0.0/8"] }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: ["10.0.1.7/24"] }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: ["10.0.1.0/29"] }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: "10.0.1.0/24" }, "settings.taskSubnets"],
    [{ ...minimal, taskSubnets: ["10.0.1.0/24]==]"] }, "settings.taskSubnets"],
    [{ ...minimal, clientAddressHops: 3 }, "settings.clientAddressHops"],
    [{ ...minimal, connectionsPerClient: 0 }, "settings.connectionsPerClient"],
    [{ ...minimal, clientHeaderSeconds: 0 }, "settings.clientHeaderSeconds"],
  ])("GIVEN a bad field THEN the problem names it (%#)", (raw, expected) => {
    expect(problemsOf(raw).join("\n")).toContain(expected);
  });

  const ecs = {
    ...minimal,
    taskSubnets: ["10.0.1.0/24"],
    sandboxDomain: "sandboxes.openhands-prod.internal",
    internalListen: "10.0.1.10:80",
  };
  it("GIVEN ECS mode's sandboxDomain and internalListen THEN both are kept", () => {
    const s = parseSettings(ecs, "/lua");
    expect(s.sandboxDomain).toBe("sandboxes.openhands-prod.internal");
    expect(s.internalListen).toEqual({ address: "10.0.1.10", port: 80 });
    expect(parseSettings(minimal, "/lua").internalListen).toBeUndefined();
  });

  it.each([
    // Both or neither: names the apps are given with nobody serving them, or a listener for no names.
    [{ ...ecs, internalListen: undefined }, "settings.internalListen: required with settings.sandboxDomain"],
    [{ ...ecs, sandboxDomain: undefined }, "settings.sandboxDomain: required with settings.internalListen"],
    // Docker mode has no task subnets: the internal names would lead nowhere the proxy may go.
    [{ ...ecs, taskSubnets: [] }, "settings.sandboxDomain: only valid in ECS mode, with a non-empty settings.taskSubnets"],
    [{ ...minimal, internalListen: "10.0.1.10:80" }, "settings.internalListen: only valid in ECS mode"],
    [{ ...ecs, sandboxDomain: "Sandboxes.internal" }, "settings.sandboxDomain"],
    [{ ...ecs, sandboxDomain: "sandboxes.internal]==]" }, "settings.sandboxDomain"],
    // An internal domain that is a public one (or under it) blurs which listener and which checks apply.
    [{ ...ecs, sandboxDomain: "runtime.example.com" }, "overlaps appHost or runtimeDomain"],
    [{ ...ecs, sandboxDomain: "x.runtime.example.com" }, "overlaps appHost or runtimeDomain"],
    [{ ...ecs, sandboxDomain: "example.com" }, "overlaps appHost or runtimeDomain"],
    [{ ...ecs, internalListen: "10.0.1.10" }, 'settings.internalListen: "10.0.1.10" is not "<IPv4>:<port>"'],
    [{ ...ecs, internalListen: { address: "10.0.1.10", port: 80 } }, "settings.internalListen"],
    [{ ...ecs, internalListen: "10.0.1.300:80" }, "settings.internalListen"],
    [{ ...ecs, internalListen: "10.0.1.10:65536" }, "settings.internalListen"],
    [{ ...ecs, internalListen: "10.0.1.10:080" }, "settings.internalListen"],
    [{ ...ecs, internalListen: "10.0.1.10:80; include /etc/passwd" }, "settings.internalListen"],
    // The wildcard would serve the internal names on every interface, not only where the apps reach the host.
    [{ ...ecs, internalListen: "0.0.0.0:80" }, "is not one address of the host"],
    // The public listener's socket: the ALB's traffic would meet the internal server.
    [{ ...ecs, internalListen: "10.0.1.10:8080" }, "shares its port with settings.listen (0.0.0.0:8080)"],
  ])("GIVEN a bad ECS internal setting THEN the problem names it (%#)", (raw, expected) => {
    expect(problemsOf(raw).join("\n")).toContain(expected);
  });

  it("GIVEN several bad fields THEN every one is listed", () => {
    expect(problemsOf({ appHost: 1, runtimeDomain: null })).toHaveLength(3);
    expect(problemsOf("not an object")).toHaveLength(1);
  });
});

describe("renderNginxConf", () => {
  it("GIVEN Debian modules THEN ndk is loaded before lua, and every placeholder is filled", () => {
    const conf = renderNginxConf(parseSettings({ ...minimal, modules: DEBIAN_MODULES }, DEFAULT_LUA_DIR));
    expect(conf.indexOf("ndk_http_module.so")).toBeLessThan(conf.indexOf("ngx_http_lua_module.so"));
    expect(conf).not.toMatch(/\{\{\w+\}\}/);
    expect(conf).toContain("listen 0.0.0.0:8080 default_server;");
    expect(conf).toContain("server_name *.runtime.example.com;");
    expect(conf).toContain(`lua_package_path "${DEFAULT_LUA_DIR}/?.lua;;";`);
  });

  it("GIVEN ECS task subnets THEN they are kept and rendered for the upstream checks", () => {
    const s = parseSettings({ ...minimal, taskSubnets: ["10.0.1.0/24", "172.16.32.0/20", "192.168.4.0/28"] }, "/lua");
    expect(s.taskSubnets).toEqual(["10.0.1.0/24", "172.16.32.0/20", "192.168.4.0/28"]);
    expect(renderNginxConf(s)).toContain('"taskSubnets":["10.0.1.0/24","172.16.32.0/20","192.168.4.0/28"]');
  });

  it("GIVEN internalListen THEN a default server on that address runs internal_access, and sandboxDomain reaches the Lua side", () => {
    const s = parseSettings(
      { ...minimal, taskSubnets: ["10.0.1.0/24"], sandboxDomain: "sandboxes.openhands-prod.internal", internalListen: "10.0.1.10:80" },
      "/lua",
    );
    const conf = renderNginxConf(s);
    expect(conf).not.toMatch(/\{\{\w+\}\}/);
    expect(conf).toContain("listen 10.0.1.10:80 default_server;");
    expect(conf).toContain('require("oh.proxy").internal_access()');
    expect(conf).toContain('require("oh.proxy").upstream_failed("internal")');
    expect(conf).toContain("limit_conn_zone $binary_remote_addr zone=oh_internal_conn:1m;");
    expect(conf).toContain('"sandboxDomain":"sandboxes.openhands-prod.internal"');
    const plain = renderNginxConf(parseSettings(minimal, "/lua"));
    expect(plain).not.toContain("internal_access");
    expect(plain).not.toContain("sandboxDomain");
  });

  it("GIVEN the defaults THEN the hardening directives are in place", () => {
    const s = parseSettings(minimal, "/lua");
    expect(s.userSubnetPrefix).toBe("10.240");
    expect(s.appPort).toBe(3000);
    const conf = renderNginxConf(s);
    expect(conf).toContain("proxy_ignore_headers X-Accel-Redirect X-Accel-Expires X-Accel-Limit-Rate X-Accel-Buffering X-Accel-Charset;");
    for (const h of ["Forwarded", "X-Real-IP", "X-Forwarded-Port", "X-Original-URL", "X-Rewrite-URL"])
      expect(conf).toContain(`proxy_set_header ${h} "";`);
    expect(conf).toContain("client_header_timeout 10s;");
    expect(conf).toContain("client_body_timeout 10s;");
    expect(conf).toContain("send_timeout 60s;");
    expect(conf).toContain("limit_conn oh_conn 200;");
    expect(conf).toContain("log_format oh_access escape=default");
    expect(conf).not.toContain("$http_upgrade");
    expect(conf).toContain('"userSubnetPrefix":"10.240"');
    expect(conf).toContain('"taskSubnets":[]');
    // A paused container's plain request ends after 60 s; idle upstream connections close before the upstreams' 5 s.
    expect(conf).toContain("proxy_read_timeout 60s;");
    expect(conf).toContain("keepalive_timeout 4s;");
    expect(conf).toContain("proxy_connect_timeout 1s;");
  });

  it.each([
    [0, "default $binary_remote_addr;"],
    [1, "$http_x_forwarded_for"],
    [2, "$http_x_forwarded_for"],
  ])("GIVEN clientAddressHops %s THEN the per-client key is taken from the trusted end", (hops, expected) => {
    const conf = renderNginxConf(parseSettings({ ...minimal, clientAddressHops: hops }, "/lua"));
    expect(conf).toContain(expected);
    if (hops === 0) expect(conf).not.toContain("$http_x_forwarded_for $oh_client");
  });

  it("GIVEN the OpenResty defaults THEN no load_module line is written", () => {
    expect(renderNginxConf(parseSettings(minimal, "/lua"))).not.toContain("load_module");
  });

  it("GIVEN access logging THEN the format leaves out the query string (session keys)", () => {
    const conf = renderNginxConf(parseSettings(minimal, "/lua"));
    expect(conf).toContain("access_log /dev/stdout oh_access;");
    expect(conf).not.toMatch(/log_format[^;]*\$request[ "']/);
    expect(conf).not.toMatch(/log_format[^;]*\$(request_uri|args|query_string)/);
  });
});

describe("dist/render.js (the command the host runs)", () => {
  const cli = join(__dirname, "..", "dist", "render.js");
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "oh-render-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("GIVEN a settings file WHEN rendered THEN nginx.conf is written with the dist Lua folder", () => {
    expect(existsSync(cli)).toBe(true); // built by `pnpm build` (turbo runs it before test)
    writeFileSync(join(dir, "settings.json"), JSON.stringify(minimal));
    const run = spawnSync("node", [cli, "--settings", join(dir, "settings.json"), "--out", join(dir, "out")], { encoding: "utf8" });
    expect(run.status).toBe(0);
    const conf = readFileSync(join(dir, "out", "nginx.conf"), "utf8");
    expect(conf).toContain(`lua_package_path "${join(__dirname, "..", "dist", "lua")}/?.lua;;";`);
  });

  it("GIVEN invalid settings THEN it exits 2, lists the problems and writes nothing", () => {
    writeFileSync(join(dir, "settings.json"), JSON.stringify({ ...minimal, appHost: "x" }));
    const run = spawnSync("node", [cli, "--settings", join(dir, "settings.json"), "--out", join(dir, "out")], { encoding: "utf8" });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('settings.appHost: "x" is not a lower-case DNS name');
    expect(existsSync(join(dir, "out", "nginx.conf"))).toBe(false);
  });

  it("GIVEN unreadable JSON or missing flags THEN it exits 2 with the usage or the file's error", () => {
    writeFileSync(join(dir, "settings.json"), "{nope");
    expect(spawnSync("node", [cli, "--settings", join(dir, "settings.json"), "--out", dir]).status).toBe(2);
    const usage = spawnSync("node", [cli, "--settings"], { encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain("usage: node render.js --settings <settings.json> --out <dir>");
  });
});
