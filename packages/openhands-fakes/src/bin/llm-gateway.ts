/**
 * Standalone LLM gateway fake, as the stand-in image runs it: `node dist/llm-gateway.js` on 0.0.0.0:4000 with
 * LITELLM_MASTER_KEY (LiteLLM's own variable; required). FAKE_MODELS (comma-separated) limits the accepted
 * model names; FAKE_LISTEN_HOST / FAKE_LISTEN_PORT let a test run it as a plain process. As the real gateway's hook:
 * OH_LLM_REQUESTS_PER_MINUTE limits each person; FAKE_DISABLED_SLUGS_FILE (one slug a line, read at every request) stands
 * in for the people disabled in the user pool; every completion prints one `llm_usage` JSON line on stdout.
 */
import { readFileSync } from "node:fs";
import { startLlmGateway } from "../llm-gateway";

/** The slugs in the file, or nobody when it is absent. */
function disabledSlugs(file: string | undefined): () => readonly string[] {
  if (!file) return () => [];
  return () => {
    try {
      return readFileSync(file, "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter(Boolean);
    } catch {
      return [];
    }
  };
}

async function main(): Promise<void> {
  const env = process.env;
  if (!env.LITELLM_MASTER_KEY) throw new Error("LITELLM_MASTER_KEY: not set; the gateway refuses to start without a key");
  const models = env.FAKE_MODELS
    ? env.FAKE_MODELS.split(",")
        .map((model) => model.trim())
        .filter(Boolean)
    : undefined;
  const gateway = await startLlmGateway({
    masterKey: env.LITELLM_MASTER_KEY,
    models,
    disabledSlugs: disabledSlugs(env.FAKE_DISABLED_SLUGS_FILE),
    ...(env.OH_LLM_REQUESTS_PER_MINUTE ? { requestsPerMinute: Number(env.OH_LLM_REQUESTS_PER_MINUTE) } : {}),
    onUsage: (record) => process.stdout.write(`${JSON.stringify(record)}\n`),
    host: env.FAKE_LISTEN_HOST || "0.0.0.0",
    port: Number(env.FAKE_LISTEN_PORT || 4000),
  });
  process.stdout.write(`llm gateway ready on ${gateway.url}\n`);
  const stop = (): void => void gateway.close().finally(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: Error) => {
  process.stderr.write(`llm gateway failed: ${error.message}\n`);
  process.exit(1);
});
