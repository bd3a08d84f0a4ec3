import { readFileSync } from "node:fs";
import { join } from "node:path";
import { exampleConfig, synthDeployment, type Json } from "../support/template";
import { STACK_IDS } from "../../src/config/names";

describe("GIVEN the example configuration (S3 state backend)", () => {
  const synth = synthDeployment();

  it("THEN every stack of the deployment (STACK_IDS) is synthesized", () => {
    for (const id of STACK_IDS) expect(synth.stack(id).terraform).toBeDefined();
  });

  it("THEN every stack requires Terraform 1.11 or newer (write-only attributes; S3 native locking needs 1.10)", () => {
    for (const id of STACK_IDS) expect(synth.stack(id).terraform.required_version).toBe(">= 1.11");
  });

  it("THEN edge-side stacks use us-east-1 and main-region stacks the configured region", () => {
    const regionOf = (id: (typeof STACK_IDS)[number]) => (synth.stack(id).provider.aws as Json[]).find((p) => !p.alias)!.region;
    expect(regionOf("auth")).toBe("us-east-1");
    expect(regionOf("edge")).toBe("us-east-1");
    for (const id of ["network", "data", "compute", "monitoring"] as const) expect(regionOf(id)).toBe("eu-central-1");
  });

  it("THEN the monitoring stack has an aliased us-east-1 provider and uses it", () => {
    const providers = synth.stack("monitoring").provider.aws as Json[];
    expect(providers).toContainEqual(expect.objectContaining({ alias: "us_east_1", region: "us-east-1" }));
    const viaAlias = Object.values(synth.stack("monitoring").resource as Json).flatMap((byName) =>
      Object.values(byName as Json).filter((r: Json) => r.provider === "aws.us_east_1"),
    );
    expect(viaAlias.length).toBeGreaterThan(0);
  });

  it("THEN each stack keeps encrypted S3 state under its own key with a lock file", () => {
    const keys = new Set<string>();
    for (const id of STACK_IDS) {
      const s3 = synth.stack(id).terraform.backend.s3 as Json;
      expect(s3).toEqual(
        expect.objectContaining({ bucket: "example-terraform-state", region: "eu-central-1", encrypt: true, use_lockfile: true }),
      );
      expect(s3.key).toBe(`openhands-team/openhands/prod/${id}.tfstate`);
      keys.add(s3.key);
    }
    expect(keys.size).toBe(STACK_IDS.length);
  });

  it("THEN the AWS provider is pinned to the version of @cdktf/provider-aws 20.1.0", () => {
    for (const id of STACK_IDS) expect(synth.stack(id).terraform.required_providers.aws.version).toBe("5.100.0");
  });

  it("THEN cross-stack references are remote-state reads of the producer's state", () => {
    const remote = synth.stack("edge").data.terraform_remote_state as Json;
    expect(remote["cross-stack-reference-input-auth"]).toEqual(
      expect.objectContaining({ backend: "s3", config: expect.objectContaining({ key: "openhands-team/openhands/prod/auth.tfstate" }) }),
    );
    expect(Object.keys(synth.stack("auth").output ?? {}).length).toBeGreaterThan(0);
  });

  it("THEN every provider tags resources with the configured and standard tags", () => {
    for (const id of STACK_IDS) {
      for (const provider of synth.stack(id).provider.aws as Json[]) {
        expect(provider.default_tags[0].tags).toEqual(
          expect.objectContaining({ Owner: "platform-team", Project: "openhands", Environment: "prod", Stack: id }),
        );
      }
    }
  });

  it("THEN no absolute path of this machine appears in the output", () => {
    for (const id of STACK_IDS) expect(JSON.stringify(synth.stack(id))).not.toContain(process.cwd());
  });
});

describe("GIVEN a Terraform Cloud state backend", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => (raw.stateBackend = { type: "terraform-cloud", organization: "acme", workspacePrefix: "oh-prod" })),
  );

  it("THEN each stack has its own named workspace and no S3 backend", () => {
    for (const id of STACK_IDS) {
      const tf = synth.stack(id).terraform;
      expect(tf.backend).toBeUndefined();
      expect(tf.cloud).toEqual({ hostname: "app.terraform.io", organization: "acme", workspaces: { name: `oh-prod-${id}` } });
      // A workspace's own Terraform version setting must satisfy this too (README, Terraform Cloud).
      expect(tf.required_version).toBe(">= 1.11");
    }
  });
});

describe("GIVEN a local state backend", () => {
  const synth = synthDeployment(exampleConfig((raw) => (raw.stateBackend = { type: "local" })));

  it("THEN each stack writes its own state file and reads others' from the same folder", () => {
    expect(synth.stack("edge").terraform.backend.local.path).toBe("../../../terraform-state/edge.tfstate");
    const remote = synth.stack("edge").data.terraform_remote_state["cross-stack-reference-input-auth"] as Json;
    expect(remote.backend).toBe("local");
    expect(remote.config.path).toBe("../../../terraform-state/auth.tfstate");
  });
});

describe("GIVEN the root README's Terraform Cloud instructions", () => {
  const synth = synthDeployment();
  const readme = readFileSync(join(__dirname, "../../../../README.md"), "utf8").replace(/\s+/g, " ");

  it("THEN the remote state sharing it asks for is exactly who reads whom", () => {
    const readers = new Map<string, string[]>();
    for (const id of STACK_IDS) {
      for (const input of Object.keys(synth.stack(id).data?.terraform_remote_state ?? {})) {
        const source = input.replace("cross-stack-reference-input-", "");
        readers.set(source, [...(readers.get(source) ?? []), id]);
      }
    }
    const listed = [...readers].map(
      ([source, by]) => `\`${source}\` with ${by.length === 1 ? by[0] : `${by.slice(0, -1).join(", ")} and ${by.at(-1)}`}`,
    );
    expect(listed.length).toBeGreaterThan(3);
    for (const phrase of listed) expect(readme).toContain(phrase);
  });
});
