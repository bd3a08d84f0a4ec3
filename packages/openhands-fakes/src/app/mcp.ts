/**
 * The app's MCP server: FastMCP('mcp') mounted at `/mcp` with path `/mcp` and `stateless_http=True`
 * (`openhands/server/app.py` L26-56, `app_server/mcp/mcp_router.py` L41), so sandboxes speak JSON-RPC to
 * `POST /mcp/mcp` (streamable HTTP, answers as one server-sent event). Tools are listed by name only; calling
 * one answers a tool error, as the real tools do without a git provider token.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isObject, parseJson, sendJson } from "../http";

const TOOLS = ["create_pr", "create_mr", "create_bitbucket_pr", "create_bitbucket_data_center_pr", "create_azure_devops_pr"];

function rpcError(id: unknown, code: number, message: string): Record<string, unknown> {
  return { jsonrpc: "2.0", id: id ?? null, error: { code, message } };
}

function answer(method: string, id: unknown, params: Record<string, unknown>): Record<string, unknown> {
  switch (method) {
    case "initialize":
      return {
        jsonrpc: "2.0",
        id,
        result: {
          protocolVersion: typeof params.protocolVersion === "string" ? params.protocolVersion : "2025-06-18",
          capabilities: {
            experimental: {},
            prompts: { listChanged: false },
            resources: { subscribe: false, listChanged: false },
            tools: { listChanged: true },
          },
          serverInfo: { name: "mcp", version: "1.0.0" },
        },
      };
    case "ping":
      return { jsonrpc: "2.0", id, result: {} };
    case "tools/list":
      return {
        jsonrpc: "2.0",
        id,
        result: {
          tools: TOOLS.map((name) => ({
            name,
            description: `${name} (OpenHands app MCP tool)`,
            inputSchema: { type: "object", properties: {} },
          })),
        },
      };
    case "tools/call":
      return {
        jsonrpc: "2.0",
        id,
        result: { content: [{ type: "text", text: "Error calling tool: no git provider token is set" }], isError: true },
      };
    default:
      return rpcError(id, -32601, "Method not found");
  }
}

/** Handles `/mcp/mcp`; `seen` records the conversation id header of each call. */
export function handleMcp(req: IncomingMessage, res: ServerResponse, body: string, seen: string[]): void {
  // Stateless streamable HTTP has no session to resume or end: GET and DELETE are refused.
  if (req.method !== "POST") return sendJson(res, 405, rpcError("server-error", -32000, "Method not allowed."), { allow: "POST" });
  const accept = String(req.headers.accept ?? "");
  if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
    return sendJson(
      res,
      406,
      rpcError("server-error", -32600, "Not Acceptable: Client must accept both application/json and text/event-stream"),
    );
  }
  if (!String(req.headers["content-type"] ?? "").includes("application/json")) {
    return sendJson(res, 415, rpcError("server-error", -32600, "Unsupported Media Type: Content-Type must be application/json"));
  }
  const message = parseJson(body);
  if (!isObject(message) || message.jsonrpc !== "2.0" || typeof message.method !== "string") {
    return sendJson(res, 400, rpcError(null, -32700, "Parse error"));
  }
  seen.push(String(req.headers["x-openhands-serverconversation-id"] ?? ""));
  // A notification gets 202 and no body.
  if (!("id" in message)) {
    res.writeHead(202, { "content-length": "0" });
    return void res.end();
  }
  const reply = answer(message.method, message.id, isObject(message.params) ? message.params : {});
  const event = `event: message\r\ndata: ${JSON.stringify(reply)}\r\n\r\n`;
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache, no-transform",
    "content-length": String(Buffer.byteLength(event)),
  });
  res.end(event);
}
