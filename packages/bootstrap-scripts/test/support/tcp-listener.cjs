// Test helper, run inside a network namespace: listens on every "<ip>:<port>" argument ("[<ipv6>]:<port>") and answers each
// connection with "<label> <ip>:<port>\n", then closes it. Prints "ready" once every socket listens.
const net = require("node:net");
const [label, ...addresses] = process.argv.slice(2);
let pending = addresses.length;
for (const address of addresses) {
  // "<ip>:<port>", an IPv6 address in brackets: "[fe80::2%eth0]:3000"
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = address.slice(at + 1);
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.end(`${label} ${address}\n`);
  });
  server.on("error", (err) => {
    console.error(`listen ${address}: ${err.message}`);
    process.exit(1);
  });
  server.listen({ host, port: Number(port) }, () => {
    pending -= 1;
    if (pending === 0) console.log("ready");
  });
}
process.on("SIGTERM", () => process.exit(0));
