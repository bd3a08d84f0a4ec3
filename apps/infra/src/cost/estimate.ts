import type { TerraformJson } from "../policy/types";
import { EC2_HOURLY, HOURS_PER_MONTH, PRICES, type Price } from "./prices";

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
}

type Stacks = Readonly<Record<string, TerraformJson>>;

function resources(stacks: Stacks, type: string): TerraformJson[] {
  return Object.values(stacks).flatMap((s) => Object.values((s.resource?.[type] ?? {}) as Record<string, TerraformJson>));
}

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
  const add = (item: string, monthly: number, basis: string, confidence: Price["confidence"]) => lines.push({ item, monthly, basis, confidence });

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
    if (price) add(`EC2 ${type} x${hosts}`, price.usd * hostHours * hosts, `${hostHours.toFixed(0)} h (${weekly ? "office hours" : "always on"}) x ${money(price)}`, price.confidence);
    else add(`EC2 ${type} x${hosts}`, 0, "no price in the table for this type: add it to src/cost/prices.ts", "EST");
    const gb = list(template.block_device_mappings).reduce((n, d) => n + Number(list(d.ebs)[0]?.volume_size ?? 0), 0);
    add("EBS gp3", gb * hosts * PRICES.ebsGp3.usd, `${gb} GB x ${money(PRICES.ebsGp3)}`, PRICES.ebsGp3.confidence);
  }

  const albs = resources(stacks, "aws_lb");
  if (albs.length) {
    const monthly = albs.length * HOURS_PER_MONTH * (PRICES.albHour.usd + PRICES.albLcuHour.usd);
    add(`ALB x${albs.length} (internal)`, monthly, `730 h x (${money(PRICES.albHour)} + 1 LCU x ${money(PRICES.albLcuHour)})`, "V");
    const publicAlbs = albs.filter((a) => a.internal !== true).length;
    add("Public IPv4 addresses", publicAlbs * 2 * HOURS_PER_MONTH * PRICES.publicIpv4Hour.usd, `${publicAlbs * 2} addresses (an internal ALB behind a VPC origin has none)`, "V");
  }

  const interfaces = resources(stacks, "aws_vpc_endpoint").filter((e) => e.vpc_endpoint_type === "Interface");
  const endpointAzs = interfaces.reduce((n, e) => n + list(e.subnet_ids).length, 0);
  add(`Interface endpoints x${interfaces.length}`, endpointAzs * HOURS_PER_MONTH * PRICES.interfaceEndpointHour.usd, `${endpointAzs} endpoint-AZs x 730 h x ${money(PRICES.interfaceEndpointHour)}`, "V");

  for (const cluster of resources(stacks, "aws_rds_cluster")) {
    const scaling = list(cluster.serverlessv2_scaling_configuration)[0] ?? {};
    const min = Number(scaling.min_capacity ?? 0.5);
    const acuHours = min === 0 ? usage.auroraAcuHoursWhenPausing : Math.max(min * HOURS_PER_MONTH, usage.auroraAcuHoursWhenPausing);
    add(
      "Aurora Serverless v2 compute",
      acuHours * PRICES.auroraAcuHour.usd,
      min === 0 ? `${acuHours} ACU-h assumed (pauses at 0 ACU when idle) x ${money(PRICES.auroraAcuHour)}` : `${min} ACU floor x 730 h x ${money(PRICES.auroraAcuHour)}`,
      "EST",
    );
    add("Aurora storage and I/O", usage.auroraStorageGb * PRICES.auroraStorage.usd + 5 * PRICES.auroraIoMillion.usd, `${usage.auroraStorageGb} GB + 5M I/O assumed`, "EST");
  }

  if (resources(stacks, "aws_efs_file_system").length) add("EFS Standard", usage.efsGb * PRICES.efsStandard.usd, `${usage.efsGb} GB assumed (IA after 30 days lowers it)`, "EST");
  const buckets = resources(stacks, "aws_s3_bucket").length;
  if (buckets) add(`S3 x${buckets} buckets`, usage.s3Gb * PRICES.s3Standard.usd + 0.5, `${usage.s3Gb} GB of events assumed + requests`, "EST");

  const secrets = resources(stacks, "aws_secretsmanager_secret").length + resources(stacks, "aws_rds_cluster").filter((c) => c.manage_master_user_password).length;
  add(`Secrets Manager x${secrets}`, secrets * PRICES.secret.usd, `${secrets} secrets (incl. Aurora's managed master secret) x ${money(PRICES.secret)}`, "V");

  const flowLogs = resources(stacks, "aws_flow_log").length;
  const logsGb = usage.logsGb + (flowLogs ? usage.flowLogsGb : 0);
  add("CloudWatch Logs", logsGb * PRICES.logsIngestGb.usd, `${logsGb} GB ingested assumed${flowLogs ? " (incl. flow logs)" : ""}`, "EST");
  const alarms = resources(stacks, "aws_cloudwatch_metric_alarm").length;
  const dashboards = resources(stacks, "aws_cloudwatch_dashboard").length;
  add(`CloudWatch alarms x${alarms}, dashboards x${dashboards}`, alarms * PRICES.alarm.usd + Math.max(0, dashboards - 3) * PRICES.dashboard.usd, "first 3 dashboards free", "K");

  const acls = resources(stacks, "aws_wafv2_web_acl");
  if (acls.length) {
    const rules = acls.reduce((n, a) => n + list(a.rule).length, 0);
    add(
      `WAF x${acls.length} web ACLs, ${rules} rules`,
      acls.length * PRICES.wafAcl.usd + rules * PRICES.wafRule.usd + usage.edgeRequestsMillion * PRICES.wafRequestsMillion.usd,
      `${money(PRICES.wafAcl)} + ${money(PRICES.wafRule)} + ${usage.edgeRequestsMillion}M requests`,
      "V",
    );
  }
  const edgeFunctions = resources(stacks, "aws_lambda_function").length;
  if (edgeFunctions) add(`Lambda@Edge x${edgeFunctions}`, edgeFunctions * PRICES.lambdaEdgePerFunction.usd, `${usage.edgeRequestsMillion}M invocations each assumed`, "EST");
  if (resources(stacks, "aws_cloudfront_distribution").length) add("CloudFront", 0, PRICES.cloudFront.unit, "V");
  if (resources(stacks, "aws_cognito_user_pool").length) add("Cognito", 0, PRICES.cognito.unit, "V");
  add("Route 53 queries", PRICES.route53Queries.usd, "about 1M queries; alias queries are free", "K");
  return lines;
}
