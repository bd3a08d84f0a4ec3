// The spawner's tests start real PostgreSQL servers and containers on the lab engine: a test without its own
// timeout gets 60 s rather than jest's 5 s, which a loaded 2-core machine can exceed while nothing is wrong.
module.exports = { ...require("../../jest.preset.js"), testTimeout: 60000 };
