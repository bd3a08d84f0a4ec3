// Synthesis is CPU-bound and the suites share nothing: two workers use both cores of a CI machine (one worker would
// run them in band, leaving the second core to Terraform alone).
module.exports = { ...require("../../jest.preset.js"), testTimeout: 180_000, maxWorkers: 2 };
