// Test helper, run inside a network namespace: tries every target of the JSON argument
// ([{id, host, port, localAddress?}]; localAddress: the source address to connect from) at once and prints
// [{id, connected, banner?, error?}] as JSON.
// A connection counts only when the listener's banner arrives (a SYN swallowed by a DROP rule times out).
const net = require("node:net");
const targets = JSON.parse(process.argv[2]);
const timeoutMs = Number(process.argv[3] ?? 800);

function probe({ id, host, port, localAddress }) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, localAddress });
    let banner = "";
    const done = (result) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ id, ...result });
    };
    const timer = setTimeout(() => done({ connected: false, error: "timeout" }), timeoutMs);
    socket.on("data", (chunk) => (banner += chunk));
    socket.on("end", () => done(banner ? { connected: true, banner: banner.trim() } : { connected: false, error: "closed" }));
    socket.on("error", (err) => done({ connected: false, error: err.code ?? err.message }));
  });
}

Promise.all(targets.map(probe)).then((results) => console.log(JSON.stringify(results)));
