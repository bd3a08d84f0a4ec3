// What the pieces agree on (docs/CONTRACTS.md is the prose): no dependencies, Node built-ins only, so that the edge
// bundle can inline it. JSON test vectors for the Lua and shell sides are in ../vectors.
export * from "./slug";
export * from "./names";
export * from "./identity";
export * from "./edge";
export * from "./host-config";
export * from "./llm-user-key";
export * from "./pages";
