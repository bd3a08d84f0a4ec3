/** Test doubles shared with other packages' system tests (see README "Testing fakes"). */
export * from "./fake-docker-engine";
export * from "./postgres";
