/**
 * Stand-ins at the users' subnet addresses (10.240.N.2 for an app, 10.240.N.128-254 for sandbox
 * ports). The proxy refuses upstreams anywhere else, loopback included, so the contract fakes (which
 * listen on 127.0.0.1) are exposed there through a plain TCP relay. The addresses exist only inside
 * the private network namespace of test/in-netns.sh (`pnpm test` runs jest in it).
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export const SUBNET_PREFIX = "10.240";

export const appAddress = (n: number) => `${SUBNET_PREFIX}.${n}.2`;
export const sandboxAddress = (n: number, i = 0) => `${SUBNET_PREFIX}.${n}.${128 + i}`;

export interface Exposed {
  address: string;
  port: number;
  url: string;
  close(): Promise<void>;
}

function listen(server: Server, port: number, address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      const bound = server.address();
      resolve(typeof bound === "object" && bound ? bound.port : 0);
    });
  });
}

/** Listens on address:port (port 0: any) and relays every connection to 127.0.0.1:targetPort. */
export async function expose(targetPort: number, address: string, port = 0): Promise<Exposed> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  let bound: number;
  try {
    bound = await listen(server, port, address);
  } catch (error) {
    throw new Error(
      `cannot listen on ${address}:${port} (${(error as Error).message}). The proxy tests need the users' ` +
        `subnet on loopback: run them through \`pnpm test\` or \`sh test/in-netns.sh npx jest <file>\`.`,
    );
  }
  return {
    address,
    port: bound,
    url: `http://${address}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
