/** The LLM gateway fake's contract: LiteLLM's key check and error shape, OpenAI-compatible deterministic answers. */
import { startLlmGateway, type RunningLlmGateway } from "../src/llm-gateway";

const KEY = "sk-master-test";
let gateway: RunningLlmGateway;

beforeAll(async () => {
  gateway = await startLlmGateway({ masterKey: KEY, models: ["claude"] });
});
afterAll(async () => {
  await gateway?.close();
});

const chat = (key: string | undefined, body: unknown): Promise<Response> =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
  });

test("GIVEN /health/liveliness THEN it answers without a key", async () => {
  const reply = await fetch(`${gateway.url}/health/liveliness`);
  expect(reply.status).toBe(200);
  expect(await reply.json()).toBe("I'm alive!");
});

test.each([
  ["no key", undefined],
  ["a wrong key", "sk-wrong"],
  ["the key with one character more", `${KEY}x`],
])("GIVEN %s THEN 401 in LiteLLM's error shape and no answer", async (_name, key) => {
  const reply = await chat(key, { model: "claude", messages: [{ role: "user", content: "hi" }] });
  expect(reply.status).toBe(401);
  const body = (await reply.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({ type: "auth_error", code: "401", message: expect.stringContaining("Authentication Error") });
});

test("GIVEN the key THEN /v1/models lists the models", async () => {
  const reply = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(await reply.json()).toEqual({ object: "list", data: [expect.objectContaining({ id: "claude", object: "model" })] });
  expect((await fetch(`${gateway.url}/v1/models`)).status).toBe(401);
});

test("GIVEN a chat completion THEN a deterministic answer quoting the last user message, same input same text", async () => {
  const request = {
    model: "litellm_proxy/claude",
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: [{ type: "text", text: "what is 2+2?" }] },
    ],
  };
  const first = (await (await chat(KEY, request)).json()) as any;
  const second = (await (await chat(KEY, request)).json()) as any;
  expect(first).toMatchObject({
    object: "chat.completion",
    model: "claude",
    choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant" } }],
  });
  expect(first.choices[0].message.content).toBe("Deterministic answer to: what is 2+2?");
  expect(second.choices[0].message.content).toBe(first.choices[0].message.content);
  expect(first.usage.total_tokens).toBeGreaterThan(0);
});

test("GIVEN stream: true THEN server-sent chunks ending with [DONE]", async () => {
  const reply = await chat(KEY, { model: "claude", stream: true, messages: [{ role: "user", content: "hi" }] });
  expect(reply.headers.get("content-type")).toContain("text/event-stream");
  const text = await reply.text();
  expect(text).toContain('"object":"chat.completion.chunk"');
  expect(text.trim().endsWith("data: [DONE]")).toBe(true);
});

test("GIVEN an unknown model or no messages THEN 400, not a crash", async () => {
  expect((await chat(KEY, { model: "gpt-unknown", messages: [] })).status).toBe(400);
  expect((await chat(KEY, { model: "claude" })).status).toBe(400);
  const notJson = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: "{",
  });
  expect(notJson.status).toBe(400);
});

test("GIVEN an empty master key THEN the gateway refuses to start", async () => {
  await expect(startLlmGateway({ masterKey: "" })).rejects.toThrow(/masterKey/);
});
