import { userJwtSecret } from "../../src/app-environment";
import { sandboxApiKey } from "../../src/ecs/sandbox-api-key";

/** The smallest spawner configuration document the schema accepts (test/config.test.ts shows its defaults). */
export function minimalConfigDocument(
  secrets: { adminPassword?: string; dbPasswordKey?: string; openhandsJwtSecret?: string; llmGatewayKey?: string } = {},
) {
  return {
    appHost: "openhands.example.com",
    runtimeDomain: "runtime.example.com",
    region: "eu-central-1",
    eventsBucket: "oh-events",
    images: { app: "ghcr.io/openhands/openhands:1.7.0", agentServer: "ghcr.io/openhands/agent-server:1.19.1-python" },
    paths: { efsRoot: "/mnt/efs", dockerApiDir: "/run/oh-spawner/docker" },
    database: { host: "db.cluster", adminUser: "postgres", adminPassword: secrets.adminPassword ?? "pw" },
    secrets: {
      dbPasswordKey: secrets.dbPasswordKey ?? "a",
      openhandsJwtSecret: secrets.openhandsJwtSecret ?? "b",
      llmGatewayKey: secrets.llmGatewayKey ?? "sk-gateway-master-key-c",
    },
    llm: { model: "litellm_proxy/claude" },
  };
}

/**
 * A user's app secret in ECS mode as the spawner writes it under `minimalConfigDocument()`'s JWT secret: a JSON object
 * whose keys the app task definition names one by one. Written out here, not through the spawner's own function, so
 * a test holds the spawner to this shape.
 */
export function minimalConfigAppSecret(slug: string, databasePassword: string, sandboxApiKeySecret: string): string {
  return JSON.stringify({
    DB_PASS: databasePassword,
    JWT_SECRET: userJwtSecret(minimalConfigDocument().secrets.openhandsJwtSecret, slug),
    OH_SANDBOX_API_KEY: sandboxApiKey(sandboxApiKeySecret, slug),
  });
}
