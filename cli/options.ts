/**
 * What every subcommand reads from its command line and environment: the lease, the identity,
 * the timings, how to reach the cluster. Every bad flag or value is a UsageError, which the
 * command prints with the flag's name and turns into exit status 2.
 *
 * @module
 */
import { hostname } from "node:os";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A bad flag or value: the message names it and says how to fix it. Exit status 2. */
export class UsageError extends Error {
  override readonly name: string = "UsageError";
}

/** Flags every campaigning subcommand (run, serve) shares; `status` takes a subset. */
export type Flags = NonNullable<ParseArgsConfig["options"]>;

export const CONNECTION_FLAGS: Flags = {
  namespace: { type: "string", short: "n" },
  kubeconfig: { type: "string" },
  context: { type: "string" },
  help: { type: "boolean", short: "h" },
};

export const ELECTION_FLAGS: Flags = {
  ...CONNECTION_FLAGS,
  lease: { type: "string", short: "l" },
  identity: { type: "string" },
  "lease-duration": { type: "string" },
  "renew-deadline": { type: "string" },
  "retry-period": { type: "string" },
  http: { type: "string" },
  "healthz-tolerance": { type: "string" },
  rejoin: { type: "boolean" },
  events: { type: "string" },
  coordinated: { type: "boolean" },
  "binary-version": { type: "string" },
  "emulation-version": { type: "string" },
};

/** node:util's parseArgs, strict, with its errors turned into UsageErrors that name the command. */
export const parse = (
  command: string,
  args: readonly string[],
  options: Flags,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } => {
  try {
    const { values, positionals } = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (error) {
    // parseArgs says e.g. "Unknown option '--foo'"; add where to look.
    throw new UsageError(`${(error as Error).message} (see 'tenure ${command} --help')`);
  }
};

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as Kubernetes and Go write them (`15s`, `500ms`, `1m30s`, `1.5s`), in milliseconds.
 * A bare number is refused: `15` could mean seconds or milliseconds, and guessing wrong by a
 * factor of a thousand breaks an election silently.
 */
export const parseDuration = (flag: string, text: string): number => {
  let rest = text.trim();
  let total = 0;
  if (rest === "") throw new UsageError(`--${flag}: empty duration; write it like 15s, 500ms or 1m30s`);
  while (rest !== "") {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) throw new UsageError(`--${flag}: "${text}" is not a duration; write it like 15s, 500ms or 1m30s (a unit is required)`);
    total += Number(match[1]) * (UNITS[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  return total;
};

/** `15000` -> `15s`, `1500` -> `1.5s`, `500` -> `500ms`: durations in messages, as the flags take them. */
export const formatDuration = (ms: number): string => (ms < 1000 ? `${ms}ms` : `${Number((ms / 1000).toFixed(3))}s`);

export interface ElectionFlags {
  readonly lease: string;
  readonly namespace: string | undefined;
  readonly identity: string;
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  readonly http: { readonly host: string; readonly port: number } | undefined;
  readonly healthzTolerance: number;
  readonly rejoin: boolean;
  /** --events COMPONENT: leadership Events from COMPONENT, on the node `NODE_NAME` (downward API) if set. */
  readonly events: { readonly component: string; readonly host: string | undefined } | undefined;
  /** --coordinated: a candidate of the API server's coordinated election, with these versions. */
  readonly coordinated: { readonly binaryVersion: string; readonly emulationVersion: string | undefined } | undefined;
  readonly kubeconfig: string | undefined;
  readonly context: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The identity: --identity, else `POD_NAME` (set it from the downward API: unique per pod and
 * readable in `kubectl get lease`), else `hostname_<random>` as client-go's examples do, so two
 * processes on one host never share an identity (which would let both lead).
 */
const identityOf = (flag: string | undefined, env: Env): string => {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new UsageError("--identity: must not be empty");
    return flag;
  }
  const pod = env["POD_NAME"];
  if (pod !== undefined && pod !== "") return pod;
  return `${hostname()}_${crypto.randomUUID().slice(0, 8)}`;
};

/** `:8080` (every interface), `127.0.0.1:8080`, `[::1]:8080`. */
export const parseAddress = (flag: string, text: string): { host: string; port: number } => {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--${flag}: "${text}" is not an address; write it like :8080, 127.0.0.1:8080 or [::1]:8080`);
  }
  const host = match[1] ?? match[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
};

export const electionFlags = (values: Record<string, string | boolean | undefined>, env: Env): ElectionFlags => {
  const str = (key: string): string | undefined => values[key] as string | undefined;
  const duration = (key: string, fallback: number): number => {
    const text = str(key);
    return text === undefined ? fallback : parseDuration(key, text);
  };
  const lease = str("lease");
  if (lease === undefined || lease === "") throw new UsageError("--lease is required: the name of the Lease to campaign on");
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(lease) || lease.length > 253) {
    throw new UsageError(`--lease: "${lease}" is not a valid Lease name (lower-case letters, digits, '-' and '.', at most 253 characters)`);
  }
  const http = str("http");
  return {
    lease,
    namespace: namespaceOf(values, env),
    identity: identityOf(str("identity"), env),
    leaseDuration: duration("lease-duration", 15_000),
    renewDeadline: duration("renew-deadline", 10_000),
    retryPeriod: duration("retry-period", 2_000),
    http: http === undefined ? undefined : parseAddress("http", http),
    healthzTolerance: duration("healthz-tolerance", 20_000),
    rejoin: values["rejoin"] === true,
    events: eventsOf(str("events"), env),
    coordinated: coordinatedOf(values["coordinated"] === true, str("binary-version"), str("emulation-version")),
    kubeconfig: str("kubeconfig"),
    context: str("context"),
  };
};

const eventsOf = (component: string | undefined, env: Env): ElectionFlags["events"] => {
  if (component === undefined) return undefined;
  if (component.trim() === "") throw new UsageError("--events: name the component that records them (the Events' source), e.g. --events my-controller");
  return { component, host: env["NODE_NAME"] || undefined };
};

const coordinatedOf = (on: boolean, binary: string | undefined, emulation: string | undefined): ElectionFlags["coordinated"] => {
  if (!on) {
    if (binary !== undefined || emulation !== undefined) throw new UsageError(`--${binary !== undefined ? "binary" : "emulation"}-version is for a coordinated candidate: add --coordinated`);
    return undefined;
  }
  if (binary === undefined) throw new UsageError("--coordinated needs --binary-version: this program's version, such as 1.4.2 (the coordinator prefers the oldest)");
  return { binaryVersion: binary, emulationVersion: emulation };
};

/** -n/--namespace, else `POD_NAMESPACE`; undefined means the cluster's own (in-cluster: the pod's). */
export const namespaceOf = (values: Record<string, string | boolean | undefined>, env: Env): string | undefined => {
  const flag = values["namespace"] as string | undefined;
  if (flag !== undefined && flag === "") throw new UsageError("--namespace: must not be empty");
  return flag ?? (env["POD_NAMESPACE"] || undefined);
};

/** The elector's option names in its ConfigError messages, as the flags that set them. */
export const asFlags = (issue: string): string =>
  issue
    .replace(/\bleaseDuration\b/g, "--lease-duration")
    .replace(/\brenewDeadline\b/g, "--renew-deadline")
    .replace(/\bretryPeriod\b/g, "--retry-period")
    .replace(/Lock identity is empty/, "--identity is empty")
    .replace(/^coordinatedLeaseLock: /, "")
    .replace(/\bbinaryVersion\b/g, "--binary-version")
    .replace(/\bemulationVersion\b/g, "--emulation-version");
