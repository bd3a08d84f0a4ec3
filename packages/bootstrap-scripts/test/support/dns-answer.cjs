// Test helper: stands for a DNS resolver (the VPC's AmazonProvidedDNS). Listens on UDP at every "<ip>:<port>"
// argument after the first, and answers every A query with the first argument (one record, TTL 60); other
// types get an empty answer. Prints "ready" once every socket is bound.
const dgram = require("node:dgram");
const [answer, ...addresses] = process.argv.slice(2);
const octets = answer.split(".").map(Number);
let pending = addresses.length;

function reply(query) {
  let end = 12;
  while (end < query.length && query[end] !== 0) end += query[end] + 1;
  end += 5; // the root label, QTYPE, QCLASS
  const question = query.subarray(12, end);
  const isA = question.readUInt16BE(question.length - 4) === 1;
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the query's id
  header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(isA ? 1 : 0, 6);
  if (!isA) return Buffer.concat([header, question]);
  const record = Buffer.alloc(16);
  record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  record.writeUInt16BE(1, 2); // A
  record.writeUInt16BE(1, 4); // IN
  record.writeUInt32BE(60, 6);
  record.writeUInt16BE(4, 10);
  Buffer.from(octets).copy(record, 12);
  return Buffer.concat([header, question, record]);
}

for (const address of addresses) {
  const at = address.lastIndexOf(":");
  const socket = dgram.createSocket("udp4");
  socket.on("message", (query, peer) => {
    if (query.length < 17) return;
    socket.send(reply(query), peer.port, peer.address);
  });
  socket.on("error", (err) => {
    console.error(`bind ${address}: ${err.message}`);
    process.exit(1);
  });
  socket.bind(Number(address.slice(at + 1)), address.slice(0, at), () => {
    pending -= 1;
    if (pending === 0) console.log("ready");
  });
}
process.on("SIGTERM", () => process.exit(0));
