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

describe("per-person keys, as the gateway's custom-auth hook checks them", () => {
  // The vectors of the key contract (packages/contracts/vectors/llm-user-key.json), computed independently of any code here.
  const vectors = (
    require("../../contracts/vectors/llm-user-key.json") as {
      vectors: Array<{ masterKey: string; slug: string; userKey: string }>;
    }
  ).vectors;
  const [ada, grace, adaRotated] = [vectors[0]!, vectors[1]!, vectors[2]!];
  const disabled: string[] = [];
  let people: RunningLlmGateway;
  beforeAll(async () => {
    people = await startLlmGateway({ masterKey: ada.masterKey, models: ["claude"], disabledSlugs: () => disabled, requestsPerMinute: 3 });
  });
  afterAll(async () => {
    await people?.close();
  });

  /** A call from `localAddress` (127.0.0.2 is on lo but is not the host's own 127.0.0.1, like a bridge address). */
  const call = (key: string, path = "/v1/chat/completions", localAddress = "127.0.0.1") =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const body = path.endsWith("completions")
        ? JSON.stringify({ model: "claude", messages: [{ role: "user", content: "SECRET-PROMPT" }] })
        : undefined;
      const req = require("node:http").request(
        `${people.url}${path}`,
        { method: body ? "POST" : "GET", localAddress, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" } },
        (res: import("node:http").IncomingMessage) => {
          let text = "";
          res.on("data", (chunk) => (text += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });

  test("GIVEN each person's key THEN each call is answered and recorded under that person, with no text in the record", async () => {
    expect((await call(ada.userKey)).status).toBe(200);
    expect((await call(grace.userKey)).status).toBe(200);
    expect(people.usage.map((r) => r.user)).toEqual([ada.slug, grace.slug]);
    expect(people.usage[0]).toMatchObject({
      event: "llm_usage",
      model: "claude",
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
    });
    expect(JSON.stringify(people.usage)).not.toMatch(/SECRET-PROMPT|Deterministic|sk-/);
  });

  test("GIVEN a forged key (ada's MAC under grace's slug), a changed one or one of a rotated master key THEN 401", async () => {
    for (const key of [`sk-oh-${grace.slug}-${ada.userKey.slice(-43)}`, `${ada.userKey.slice(0, -1)}x`, adaRotated.userKey]) {
      const answer = await call(key);
      expect(answer.status).toBe(401);
      expect(answer.body.error.type).toBe("auth_error");
    }
  });

  test("GIVEN a person's key on another route THEN 403; the master key from an address other than the host's THEN 401", async () => {
    expect((await call(ada.userKey, "/key/generate")).status).toBe(403);
    expect((await call(ada.userKey, "/v1/models")).status).toBe(200);
    const fromBridge = await call(ada.masterKey, "/v1/chat/completions", "127.0.0.2");
    expect(fromBridge.status).toBe(401);
    expect(fromBridge.body.error.message).toContain("host only");
    expect((await call(ada.masterKey, "/v1/models")).status).toBe(200);
  });

  test("GIVEN a disabled person THEN their key is refused, and works again once they are enabled", async () => {
    disabled.push(grace.slug);
    const answer = await call(grace.userKey);
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toContain("revoked");
    disabled.length = 0;
    expect((await call(grace.userKey)).status).toBe(200);
  });

  test("GIVEN more calls than requestsPerMinute THEN the hook's 429 naming the limit; another person is not held back", async () => {
    let last = await call(ada.userKey);
    while (last.status === 200) last = await call(ada.userKey);
    expect(last.status).toBe(429);
    expect(last.body.error).toMatchObject({ type: "rate_limit_error", code: "429" });
    expect(last.body.error.message).toContain("bedrock.perUser.requestsPerMinute");
    expect((await call(vectors[3]!.userKey)).status).toBe(200);
  });
});
