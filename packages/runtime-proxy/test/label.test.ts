import { RUNTIME_LABEL } from "../src/index";

describe("RUNTIME_LABEL", () => {
  it("refuses leading zeros and uppercase", () => {
    expect(RUNTIME_LABEL.test("8080-abcdefghijklmnop")).toBe(true);
    expect(RUNTIME_LABEL.test("08080-abcdefghijklmnop")).toBe(false);
    expect(RUNTIME_LABEL.test("8080-ABCDEFGHIJKLMNOP")).toBe(false);
  });
});
