import { estimateMonthlyCost, weeklyHours } from "../../src/cost/estimate";
import { REFERENCE_MONTHLY } from "../../src/cost/prices";
import { loadSynthesizedStacks } from "../../src/policy/runner";
import { exampleConfig, synthDeployment } from "../support/template";

const line = (lines: ReturnType<typeof estimateMonthlyCost>, prefix: string) => lines.find((l) => l.item.startsWith(prefix));
const total = (lines: ReturnType<typeof estimateMonthlyCost>) => lines.reduce((n, l) => n + l.monthly, 0);

describe("GIVEN office-hours cron pairs", () => {
  it.each([
    ["0 7 * * MON-FRI", "0 20 * * MON-FRI", 65],
    ["30 8 * * 1-5", "0 18 * * 1-5", 47.5],
    ["0 6 * * *", "0 22 * * *", 112],
  ])("WHEN the host runs from %s to %s THEN it runs %d hours a week", (start, stop, hours) => {
    expect(weeklyHours(start, stop)).toBeCloseTo(hours);
  });

  it("WHEN the stop is before the start THEN no figure is invented", () => {
    expect(weeklyHours("0 20 * * MON-FRI", "0 7 * * MON-FRI")).toBeUndefined();
  });
});

describe("GIVEN the example deployment synthesized", () => {
  const lines = estimateMonthlyCost(loadSynthesizedStacks(synthDeployment().outdir));

  it("THEN the host is priced always-on from the launch template's instance type", () => {
    expect(line(lines, "EC2 m7g.xlarge")?.monthly).toBeCloseTo(119.14, 2);
    expect(line(lines, "EBS gp3")?.monthly).toBeCloseTo(10.4, 2);
  });

  it("THEN the internal ALB costs no public IPv4 and no interface endpoint is paid", () => {
    expect(line(lines, "Public IPv4")?.monthly).toBe(0);
    expect(line(lines, "Interface endpoints")?.monthly).toBe(0);
  });

  it("THEN each figure names the region of its resources, and those outside the price table's regions are flagged", () => {
    expect(line(lines, "EC2 m7g.xlarge")).toMatchObject({ regions: ["eu-central-1"], unpricedRegions: ["eu-central-1"] });
    expect(line(lines, "WAF")).toMatchObject({ regions: ["us-east-1"], unpricedRegions: [] });
    expect(line(lines, "CloudWatch alarms")).toMatchObject({ regions: ["eu-central-1", "us-east-1"], unpricedRegions: ["eu-central-1"] });
    expect(line(lines, "CloudFront")).toMatchObject({ regions: ["global"], unpricedRegions: [] });
  });

  it("THEN the total is about half of the reference deployment's", () => {
    expect(total(lines)).toBeLessThan(REFERENCE_MONTHLY.low * 0.6);
    expect(total(lines)).toBeGreaterThan(150);
  });
});

describe("GIVEN office hours and interface endpoints", () => {
  const lines = estimateMonthlyCost(
    loadSynthesizedStacks(
      synthDeployment(
        exampleConfig((raw) => {
          raw.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * MON-FRI", stop: "0 20 * * MON-FRI" };
          raw.cost.interfaceEndpoints = true;
        }),
      ).outdir,
    ),
  );

  it("THEN the host is priced for 65 hours a week and each endpoint for each AZ", () => {
    expect(line(lines, "EC2 m7g.xlarge")?.monthly).toBeCloseTo(((65 * 52) / 12) * 0.1632, 2);
    expect(line(lines, "Interface endpoints x6")?.monthly).toBeCloseTo(6 * 2 * 7.3, 2);
  });
});

describe("GIVEN a deployment in us-east-1, the region the price table holds", () => {
  const lines = estimateMonthlyCost(
    loadSynthesizedStacks(
      synthDeployment(
        exampleConfig((raw) => {
          raw.region = "us-east-1";
          raw.stateBackend.region = "us-east-1";
          raw.bedrock.models = ["us.anthropic.claude-sonnet-4-5-20250929-v1:0"];
        }),
      ).outdir,
    ),
  );

  it("THEN no figure is flagged as borrowed from another region", () => {
    expect(line(lines, "EC2 m7g.xlarge")?.regions).toEqual(["us-east-1"]);
    expect(lines.filter((l) => l.unpricedRegions.length).map((l) => l.item)).toEqual([]);
  });
});
