// Which kind of host a request is for: the app, a runtime host `<port>-<slug>.<runtime domain>`, or nothing of ours.
import type { EdgeConfig } from "./config";

export type HostKind =
  | { readonly kind: "app"; readonly host: string }
  | { readonly kind: "runtime"; readonly host: string; readonly port: number; readonly slug: string }
  | { readonly kind: "unknown"; readonly host: string };

const RUNTIME_LABEL = /^([1-9][0-9]{0,4})-([a-z2-7]{16})$/;

/** Lower case, without a port; "" for anything that is not a plain host name. */
export function normalizeHost(value: string | undefined): string {
  // Host folding (Kelvin sign lower-cases to "k", trim() drops NBSP/BOM/U+2028): refuse non-[A-Za-z0-9.:-] before normalising.
  if (!value || !/^[A-Za-z0-9.:-]{1,260}$/.test(value)) return "";
  const host = value.toLowerCase().replace(/:\d{1,5}$/, "");
  return /^[a-z0-9.-]{1,253}$/.test(host) ? host : "";
}

export function classifyHost(value: string | undefined, config: Pick<EdgeConfig, "appHost" | "runtimeDomain">): HostKind {
  const host = normalizeHost(value);
  if (host === config.appHost) return { kind: "app", host };
  const suffix = `.${config.runtimeDomain}`;
  if (host.endsWith(suffix)) {
    // Strict pattern: exactly one label, decimal port without a leading zero, 1-65535, and a 16-character slug.
    const match = RUNTIME_LABEL.exec(host.slice(0, -suffix.length));
    const port = match ? Number(match[1]) : 0;
    if (match && port >= 1 && port <= 65535) return { kind: "runtime", host, port, slug: match[2]! };
  }
  return { kind: "unknown", host };
}
