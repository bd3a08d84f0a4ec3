// Two workers: the firewall matrix spends most of its time waiting on dropped connections, so it can run
// beside the dry runs, which spend theirs starting processes.
module.exports = { ...require("../../jest.preset.js"), maxWorkers: 2 };
