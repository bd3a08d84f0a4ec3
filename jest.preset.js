// Shared jest settings: @swc/jest transforms TypeScript (type checking is `tsc` in each package's build).
module.exports = {
  testEnvironment: "node",
  transform: { "^.+\\.(t|j)sx?$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  moduleFileExtensions: ["ts", "js", "json"],
  // A handle left open by a failed test (a pool on a frozen database, say) must not hold the run after the report is
  // written; jest still names the suite that failed.
  forceExit: true,
};
