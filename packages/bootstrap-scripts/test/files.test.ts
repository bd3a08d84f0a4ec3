import { HOST_ROOT_FILES } from "../src/index";

describe("HOST_ROOT_FILES", () => {
  it("are absolute paths", () => {
    for (const f of HOST_ROOT_FILES) expect(f.startsWith("/")).toBe(true);
  });
});
