// Bench helper, run inside a network namespace: opens COUNT connections one after the other to HOST:PORT,
// reads each banner, and prints the elapsed milliseconds.
const net = require("node:net");
const [host, port, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 1000)];

function once() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.on("data", () => {});
    socket.on("end", resolve);
    socket.on("error", reject);
  });
}

(async () => {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i += 1) await once();
  console.log(Number(process.hrtime.bigint() - start) / 1e6);
})().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
