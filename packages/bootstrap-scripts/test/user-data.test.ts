import { renderUserData } from "../src/user-data";

describe("renderUserData", () => {
  it("is a cloud-config that checks the bundle digest before running it", () => {
    const out = renderUserData({ region: "eu-central-1", bundleS3Uri: "s3://b/k.zip", bundleSha256: "ab".repeat(32), hostConfigParameter: "/n/e/host/config" });
    expect(out.startsWith("#cloud-config\n")).toBe(true);
    expect(out).toContain(`echo '${"ab".repeat(32)}  /tmp/host-bundle.zip' | sha256sum -c -`);
    expect(out.indexOf("sha256sum")).toBeLessThan(out.indexOf("./install.sh"));
  });
});
