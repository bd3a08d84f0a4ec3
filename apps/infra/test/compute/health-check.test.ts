/**
 * The ALB target group's health check against the host's own healing: /_oh/health answers non-200 only when nginx
 * or the spawner is gone or hung; the watchdog restarts the stack after about 90 s and the restart takes up to 90 s
 * more. The ALB must not mark the host unhealthy (and the Auto Scaling group replace it) during that time.
 */
import { HEALTH_CHECK_GRACE_SECONDS } from "../../src/constructs/compute/host-fleet";
import { WATCHDOG_RECOVERY_SECONDS } from "../../src/constructs/compute/internal-load-balancer";
import { only, synthDeployment } from "../support/template";

describe("GIVEN the example configuration WHEN looking at the target group's health check", () => {
  const synth = synthDeployment();
  const check = only(synth, "compute", "aws_lb_target_group").health_check as Record<string, number | string | boolean>;

  it("THEN it asks GET /_oh/health on the proxy port and only 200 counts as healthy", () => {
    expect(check).toEqual(
      expect.objectContaining({ enabled: true, path: "/_oh/health", matcher: "200", port: "traffic-port", protocol: "HTTP" }),
    );
  });

  it(
    "THEN failures in a row must last longer than a watchdog restart (three failed checks 30 s apart plus a 90 s restart) before the " +
      "host is unhealthy",
    () => {
      const unhealthyAfter = Number(check.interval) * Number(check.unhealthy_threshold);
      expect(WATCHDOG_RECOVERY_SECONDS).toBe(180);
      expect(unhealthyAfter).toBeGreaterThan(WATCHDOG_RECOVERY_SECONDS);
      expect(unhealthyAfter).toBe(300);
    },
  );

  it(
    "THEN the thresholds are within what the ALB accepts (2-10, timeout below the interval) and a recovered host is healthy after " +
      "two checks",
    () => {
      expect(Number(check.unhealthy_threshold)).toBeLessThanOrEqual(10);
      expect(Number(check.healthy_threshold)).toBe(2);
      expect(Number(check.timeout)).toBeLessThan(Number(check.interval));
      // the proxy answers within its own 1 s spawner probe bound; the check's timeout leaves room for a loaded host
      expect(Number(check.timeout)).toBeGreaterThanOrEqual(5);
    },
  );

  it("THEN a new host has its boot-sized grace period before any of this counts", () => {
    expect(only(synth, "compute", "aws_autoscaling_group").health_check_grace_period).toBe(HEALTH_CHECK_GRACE_SECONDS);
  });
});
