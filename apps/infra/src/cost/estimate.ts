import type { TerraformJson } from "../policy/types";
import { EC2_HOURLY, HOURS_PER_MONTH, PRICED_REGIONS, PRICES, type Price } from "./prices";

/** Usage the Terraform cannot tell; every figure in the estimate that depends on one says so. */
export interface UsageAssumptions {
  /** Aurora ACU-hours a month when it scales to zero (about 1 ACU while people work). @default 220 */
  readonly auroraAcuHoursWhenPausing: number;
  readonly auroraStorageGb: number;
  readonly efsGb: number;
  readonly s3Gb: number;
  readonly logsGb: number;
  readonly flowLogsGb: number;
  /** Viewer requests a month (WAF, Lambda@Edge). */
  readonly edgeRequestsMillion: number;
}

export const DEFAULT_USAGE: UsageAssumptions = {
  auroraAcuHoursWhenPausing: 220,
  auroraStorageGb: 10,
  efsGb: 20,
  s3Gb: 50,
  logsGb: 10,
  flowLogsGb: 5,
  edgeRequestsMillion: 2,
};

export interface CostLine {
  readonly item: string;
  readonly monthly: number;
  /** How the figure was reached: quantity, unit price, assumption. */
  readonly basis: string;
  readonly confidence: Price["confidence"];
  /** Regions of the priced resources ("global" for CloudFront and Route 53). */
  readonly regions: readonly string[];
  /** Regions among them whose prices the table does not hold: the figure uses us-east-1's price there. */
  readonly unpricedRegions: readonly string[];
}

type Stacks = Readonly<Record<string, TerraformJson>>;

/** A resource with the region its provider puts it in. */
interface Placed {
  readonly body: TerraformJson;
  readonly region: string;
}

function placed(stacks: Stacks, type: string): Placed[] {
  return Object.values(stacks).flatMap((stack) => {
    const providers = list(stack.provider?.aws);
    const fallback = String(providers.find((p) => !p.alias)?.region ?? "unknown");
    const byAlias = new Map(providers.filter((p) => p.alias).map((p) => [`aws.${String(p.alias)}`, String(p.region)]));
    return Object.values((stack.resource?.[type] ?? {}) as Record<string, TerraformJson>).map((body) => ({
      body,
      region: (typeof body.provider === "string" && byAlias.get(body.provider)) || fallback,
    }));
  });
}

function resources(stacks: Stacks, type: string): TerraformJson[] {
  return placed(stacks, type).map((r) => r.body);
}

const regionsOf = (stacks: Stacks, ...types: string[]) =>
  [...new Set(types.flatMap((type) => placed(stacks, type).map((r) => r.region)))].sort();

const list = (v: unknown): TerraformJson[] => (v === undefined || v === null ? [] : ((Array.isArray(v) ? v : [v]) as TerraformJson[]));

/** Hours a week between a start and a stop cron (`M H * * D1-D2` or `*`), or undefined when unreadable. */
export function weeklyHours(start: string, stop: string): number | undefined {
  const parse = (cron: string) => cron.trim().split(/\s+/);
  const [sm, sh, , , sd] = parse(start);
  const [tm, th] = parse(stop);
  const days = (field: string | undefined): number | undefined => {
    if (!field || field === "*") return 7;
    const names = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    const index = (d: string) => (/^\d$/.test(d) ? Number(d) % 7 : names.indexOf(d.toUpperCase()));
    const range = /^([A-Za-z]{3}|\d)-([A-Za-z]{3}|\d)$/.exec(field);
    if (range) return ((index(range[2]!) - index(range[1]!) + 7) % 7) + 1;
    return field.split(",").length;
  };
  const hours = Number(th) + Number(tm) / 60 - (Number(sh) + Number(sm) / 60);
  const perWeek = days(sd);
  return Number.isFinite(hours) && hours > 0 && perWeek ? hours * perWeek : undefined;
}

const money = (price: Price) => `$${price.usd}/${price.unit}`;

/** A monthly estimate of the deployment from its synthesized Terraform and the usage assumptions. */
export function estimateMonthlyCost(stacks: Stacks, usage: UsageAssumptions = DEFAULT_USAGE): CostLine[] {
  const lines: CostLine[] = [];
  const add = (item: string, monthly: number, basis: string, confidence: Price["confidence"], regions: readonly string[]) =>
    lines.push({
      item,
      monthly,
      basis,
      confidence,
      regions,
      unpricedRegions: regions.filter((r) => r !== "global" && !PRICED_REGIONS.includes(r)),
    });
  const hostRegions = regionsOf(stacks, "aws_launch_template");

  const group = resources(stacks, "aws_autoscaling_group")[0];
  const template = resources(stacks, "aws_launch_template")[0];
  const schedules = resources(stacks, "aws_autoscaling_schedule");
  const start = schedules.find((s) => Number(s.desired_capacity) > 0);
  const stop = schedules.find((s) => Number(s.desired_capacity) === 0);
  const weekly = start && stop ? weeklyHours(String(start.recurrence), String(stop.recurrence)) : undefined;
  const hostHours = weekly ? (weekly * 52) / 12 : HOURS_PER_MONTH;
  const hosts = Number(group?.desired_capacity ?? 1);
  if (template) {
    const type = String(template.instance_type);
    const price = EC2_HOURLY[type];
    if (price)
      add(
        `EC2 ${type} x${hosts}`,
        price.usd * hostHours * hosts,
        `${hostHours.toFixed(0)} h (${weekly ? "office hours" : "always on"}) x ${money(price)}`,
        price.confidence,
        hostRegions,
      );
    else add(`EC2 ${type} x${hosts}`, 0, "no price in the table for this type: add it to src/cost/prices.ts", "EST", hostRegions);
    const gb = list(template.block_device_mappings).reduce((n, d) => n + Number(list(d.ebs)[0]?.volume_size ?? 0), 0);
    add("EBS gp3", gb * hosts * PRICES.ebsGp3.usd, `${gb} GB x ${money(PRICES.ebsGp3)}`, PRICES.ebsGp3.confidence, hostRegions);
  }

  const albs = resources(stacks, "aws_lb");
  if (albs.length) {
    const monthly = albs.length * HOURS_PER_MONTH * (PRICES.albHour.usd + PRICES.albLcuHour.usd);
    add(
      `ALB x${albs.length} (internal)`,
      monthly,
      `730 h x (${money(PRICES.albHour)} + 1 LCU x ${money(PRICES.albLcuHour)})`,
      "V",
      regionsOf(stacks, "aws_lb"),
    );
    const publicAlbs = albs.filter((a) => a.internal !== true).length;
    add(
      "Public IPv4 addresses",
      publicAlbs * 2 * HOURS_PER_MONTH * PRICES.publicIpv4Hour.usd,
      `${publicAlbs * 2} addresses (an internal ALB behind a VPC origin has none)`,
      "V",
      publicAlbs ? regionsOf(stacks, "aws_lb") : [],
    );
  }

  const interfacesPlaced = placed(stacks, "aws_vpc_endpoint").filter((e) => e.body.vpc_endpoint_type === "Interface");
  const interfaces = interfacesPlaced.map((e) => e.body);
  const endpointAzs = interfaces.reduce((n, e) => n + list(e.subnet_ids).length, 0);
  add(
    `Interface endpoints x${interfaces.length}`,
    endpointAzs * HOURS_PER_MONTH * PRICES.interfaceEndpointHour.usd,
    `${endpointAzs} endpoint-AZs x 730 h x ${money(PRICES.interfaceEndpointHour)}`,
    "V",
    [...new Set(interfacesPlaced.map((e) => e.region))],
  );

  const dataRegions = regionsOf(stacks, "aws_rds_cluster");
  for (const cluster of resources(stacks, "aws_rds_cluster")) {
    const scaling = list(cluster.serverlessv2_scaling_configuration)[0] ?? {};
    const min = Number(scaling.min_capacity ?? 0.5);
    const acuHours = min === 0 ? usage.auroraAcuHoursWhenPausing : Math.max(min * HOURS_PER_MONTH, usage.auroraAcuHoursWhenPausing);
    add(
      "Aurora Serverless v2 compute",
      acuHours * PRICES.auroraAcuHour.usd,
      min === 0
        ? `${acuHours} ACU-h assumed (pauses at 0 ACU when idle) x ${money(PRICES.auroraAcuHour)}`
        : `${min} ACU floor x 730 h x ${money(PRICES.auroraAcuHour)}`,
      "EST",
      dataRegions,
    );
    add(
      "Aurora storage and I/O",
      usage.auroraStorageGb * PRICES.auroraStorage.usd + 5 * PRICES.auroraIoMillion.usd,
      `${usage.auroraStorageGb} GB + 5M I/O assumed`,
      "EST",
      dataRegions,
    );
  }

  if (resources(stacks, "aws_efs_file_system").length)
    add(
      "EFS Standard",
      usage.efsGb * PRICES.efsStandard.usd,
      `${usage.efsGb} GB assumed (IA after 30 days lowers it)`,
      "EST",
      regionsOf(stacks, "aws_efs_file_system"),
    );
  const buckets = resources(stacks, "aws_s3_bucket").length;
  if (buckets)
    add(
      `S3 x${buckets} buckets`,
      usage.s3Gb * PRICES.s3Standard.usd + 0.5,
      `${usage.s3Gb} GB of events assumed + requests`,
      "EST",
      regionsOf(stacks, "aws_s3_bucket"),
    );

  const secrets =
    resources(stacks, "aws_secretsmanager_secret").length +
    resources(stacks, "aws_rds_cluster").filter((c) => c.manage_master_user_password).length;
  add(
    `Secrets Manager x${secrets}`,
    secrets * PRICES.secret.usd,
    `${secrets} secrets (incl. Aurora's managed master secret) x ${money(PRICES.secret)}`,
    "V",
    regionsOf(stacks, "aws_secretsmanager_secret", "aws_rds_cluster"),
  );

  const flowLogs = resources(stacks, "aws_flow_log").length;
  const logsGb = usage.logsGb + (flowLogs ? usage.flowLogsGb : 0);
  add(
    "CloudWatch Logs",
    logsGb * PRICES.logsIngestGb.usd,
    `${logsGb} GB ingested assumed${flowLogs ? " (incl. flow logs)" : ""}`,
    "EST",
    regionsOf(stacks, "aws_cloudwatch_log_group"),
  );
  const alarms = resources(stacks, "aws_cloudwatch_metric_alarm").length;
  const dashboards = resources(stacks, "aws_cloudwatch_dashboard").length;
  add(
    `CloudWatch alarms x${alarms}, dashboards x${dashboards}`,
    alarms * PRICES.alarm.usd + Math.max(0, dashboards - 3) * PRICES.dashboard.usd,
    "first 3 dashboards free",
    "K",
    regionsOf(stacks, "aws_cloudwatch_metric_alarm", "aws_cloudwatch_dashboard"),
  );

  const acls = resources(stacks, "aws_wafv2_web_acl");
  if (acls.length) {
    const rules = acls.reduce((n, a) => n + list(a.rule).length, 0);
    add(
      `WAF x${acls.length} web ACLs, ${rules} rules`,
      acls.length * PRICES.wafAcl.usd + rules * PRICES.wafRule.usd + usage.edgeRequestsMillion * PRICES.wafRequestsMillion.usd,
      `${money(PRICES.wafAcl)} + ${money(PRICES.wafRule)} + ${usage.edgeRequestsMillion}M requests`,
      "V",
      regionsOf(stacks, "aws_wafv2_web_acl"),
    );
  }
  const edgeFunctions = resources(stacks, "aws_lambda_function").length;
  if (edgeFunctions)
    add(
      `Lambda@Edge x${edgeFunctions}`,
      edgeFunctions * PRICES.lambdaEdgePerFunction.usd,
      `${usage.edgeRequestsMillion}M invocations each assumed`,
      "EST",
      regionsOf(stacks, "aws_lambda_function"),
    );
  if (resources(stacks, "aws_cloudfront_distribution").length) add("CloudFront", 0, PRICES.cloudFront.unit, "V", ["global"]);
  if (resources(stacks, "aws_cognito_user_pool").length)
    add("Cognito", 0, PRICES.cognito.unit, "V", regionsOf(stacks, "aws_cognito_user_pool"));
  add("Route 53 queries", PRICES.route53Queries.usd, "about 1M queries; alias queries are free", "K", ["global"]);
  return lines;
}
