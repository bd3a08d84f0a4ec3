// Test helper: stands for the spawner's webhook relay on a user's gateway. Listens on LISTEN ("<ip>:<port>") and
// pipes every connection to TARGET ("<ip>:<port>", the user's app), as the relay passes callbacks to the app.
// Prints "ready" once it listens.
const net = require("node:net");
const [listen, target] = process.argv.slice(2);
const split = (address) => [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
const [host, port] = split(listen);
const [targetHost, targetPort] = split(target);
const server = net.createServer((socket) => {
  const upstream = net.connect({ host: targetHost, port: targetPort });
  socket.on("error", () => upstream.destroy());
  upstream.on("error", () => socket.destroy());
  socket.pipe(upstream);
  upstream.pipe(socket);
});
server.on("error", (err) => {
  console.error(`listen ${listen}: ${err.message}`);
  process.exit(1);
});
server.listen({ host, port }, () => console.log("ready"));
process.on("SIGTERM", () => process.exit(0));
