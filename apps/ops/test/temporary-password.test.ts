import { temporaryPassword } from "../src/users/temporary-password";

describe("temporaryPassword", () => {
  test("GIVEN many draws THEN each meets the pool's policy and none repeats", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const password = temporaryPassword();
      expect(password).toHaveLength(20);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[0-9]/);
      expect(password).toMatch(/[-_!@#%^+=?]/);
      // Nothing a shell or a chat message would mangle, and no look-alikes.
      expect(password).not.toMatch(/[\s'"`$\\lIO0o1]/);
      seen.add(password);
    }
    expect(seen.size).toBe(500);
  });

  test("GIVEN a length below the pool's minimum THEN refused", () => {
    expect(() => temporaryPassword(11)).toThrow("below the pool's minimum of 12");
    expect(temporaryPassword(12)).toHaveLength(12);
  });
});
