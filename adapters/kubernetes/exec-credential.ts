/**
 * Exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1` ExecCredential), as
 * cloud providers use them (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`): run the
 * command, read a token or a client certificate from its output, cache it until it expires, and
 * run it again after a 401. Concurrent requests share one run; each waits only as long as its own
 * signal allows, and the run itself is bounded (execLimited), so a hung plugin is killed, reported
 * as a LockError, and run again by the next request.
 *
 * @module
 */
import type * as Z from "zod/mini";
import { LockError } from "../../src/lock.ts";
import { EXEC_LIMITS, type ExecLimits, execLimited } from "../runtime/exec.ts";
import type { Runtime } from "../runtime/runtime.ts";
import type { Credentials } from "./cluster.ts";
import { explain, issuesOf } from "./schema-issues.ts";
import { KubeconfigError } from "./setup-errors.ts";

export interface ExecConfig {
  readonly apiVersion: string;
  readonly command: string;
  readonly args?: readonly string[] | null | undefined;
  readonly env?: readonly { readonly name: string; readonly value: string }[] | null | undefined;
  readonly installHint?: string | undefined;
  readonly provideClusterInfo?: boolean | undefined;
  readonly interactiveMode?: string | undefined;
}

/**
 * What the plugin may need to know about the cluster (when provideClusterInfo is set): the
 * `spec.cluster` of client.authentication.k8s.io, as client-go fills it (`config` is the cluster's
 * `client.authentication.k8s.io/exec` extension).
 */
export interface ExecClusterInfo {
  readonly server: string;
  readonly "tls-server-name"?: string;
  readonly "insecure-skip-tls-verify"?: boolean;
  /** Base64 of the CA's PEM, whether the kubeconfig gives it inline or as a file. */
  readonly "certificate-authority-data"?: string;
  readonly "proxy-url"?: string;
  readonly "disable-compression"?: boolean;
  readonly config?: unknown;
}

export interface ClientCertificate {
  readonly cert: string;
  readonly key: string;
}

/** Credentials from a plugin: a bearer token, a client certificate, or both. */
export interface ExecCredentials extends Credentials {
  clientCertificate(signal?: AbortSignal): Promise<ClientCertificate | undefined>;
}

export interface ExecOptions extends Partial<ExecLimits> {
  /** Epoch ms, to judge `expirationTimestamp`. Default `Date.now`. */
  readonly now?: () => number;
}

export const EXEC_API_VERSIONS: readonly string[] = ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"];

/** What a plugin prints, built with zod at the first run (see kubeconfig.ts's `schemaWith`). */
const outputWith = (z: typeof Z) =>
  z.object({
    apiVersion: z.string(),
    kind: z.literal("ExecCredential"),
    status: z.object({
      token: z.optional(z.string()),
      clientCertificateData: z.optional(z.string()),
      clientKeyData: z.optional(z.string()),
      expirationTimestamp: z.optional(z.string()),
    }),
  });
let output: ReturnType<typeof outputWith> | undefined;

interface Issued {
  readonly token: string | undefined;
  readonly certificate: ClientCertificate | undefined;
  /** Epoch ms after which the plugin must run again; undefined: until a 401. */
  readonly expires: number | undefined;
}

export const execCredentials = (
  runtime: Runtime,
  exec: ExecConfig,
  cluster: ExecClusterInfo,
  options: ExecOptions = {},
): ExecCredentials => {
  const { now = Date.now } = options;
  const limits: ExecLimits = { ...EXEC_LIMITS, ...options };
  const name = exec.command;
  const fail = (why: string): LockError =>
    new LockError("Unauthorized", `the kubeconfig's exec credential plugin "${name}" ${why}${exec.installHint ? `\n${exec.installHint}` : ""}`);

  if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) {
    throw new KubeconfigError(`kubeconfig exec plugin "${name}": apiVersion ${exec.apiVersion} is not supported; use one of ${EXEC_API_VERSIONS.join(", ")}`);
  }
  if (exec.interactiveMode === "Always") {
    throw new KubeconfigError(`kubeconfig exec plugin "${name}" needs an interactive terminal (interactiveMode: Always), which an elector does not have`);
  }

  const run = async (): Promise<Issued> => {
    const info = {
      apiVersion: exec.apiVersion,
      kind: "ExecCredential",
      spec: { interactive: false, ...(exec.provideClusterInfo ? { cluster } : {}) },
    };
    const env = Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value]));
    const result = await execLimited(runtime, exec.command, exec.args ?? [], { ...env, KUBERNETES_EXEC_INFO: JSON.stringify(info) }, limits).catch((error: unknown) => {
      throw fail(error instanceof Error ? error.message : String(error));
    });
    if (result.code !== 0) throw fail(`failed with exit code ${result.code}: ${result.stderr.trim().slice(0, 300)}`);
    let json: unknown;
    try {
      json = JSON.parse(result.stdout);
    } catch {
      throw fail("did not print JSON");
    }
    output ??= outputWith(await import("zod/mini"));
    const parsed = output.safeParse(json, { error: explain });
    if (!parsed.success) throw fail(`printed something that is not an ExecCredential: ${issuesOf(parsed.error).join("; ")}`);
    if (parsed.data.apiVersion !== exec.apiVersion) throw fail(`answered in ${parsed.data.apiVersion}, but the kubeconfig asks for ${exec.apiVersion}`);
    const status = parsed.data.status;
    const hasCert = status.clientCertificateData !== undefined && status.clientKeyData !== undefined;
    if (status.token === undefined && !hasCert) throw fail("returned neither a token nor a client certificate");
    const expires = status.expirationTimestamp === undefined ? undefined : Date.parse(status.expirationTimestamp);
    return {
      token: status.token,
      certificate: hasCert ? { cert: status.clientCertificateData as string, key: status.clientKeyData as string } : undefined,
      expires: expires !== undefined && Number.isFinite(expires) ? expires : undefined,
    };
  };

  let issued: Issued | undefined;
  let running: { readonly issued: Promise<Issued>; readonly since: number } | undefined;
  /** Requests waiting for the run now. */
  let waiting = 0;
  /**
   * A failure that no request was left to hear: with a plugin slower than the request timeout, every
   * request gives up first, and the reason would never reach onError. The next request gets it.
   */
  let unheard: unknown;
  const current = async (signal: AbortSignal | undefined): Promise<Issued> => {
    if (issued !== undefined && (issued.expires === undefined || now() < issued.expires)) return issued;
    if (running === undefined) {
      const run$ = run()
        .then((fresh) => ((unheard = undefined), (issued = fresh)), (error: unknown) => {
          if (waiting === 0) unheard = error;
          throw error;
        })
        .finally(() => (running = undefined));
      // Nobody may be waiting when it fails (every request gave up): not an unhandled rejection.
      run$.catch(() => {});
      running = { issued: run$, since: now() };
    }
    if (unheard !== undefined) {
      // Told once, while the plugin runs again for the requests after this one.
      const error = unheard;
      unheard = undefined;
      throw error;
    }
    waiting++;
    try {
      return await (signal === undefined ? running.issued : waitFor(running, signal));
    } finally {
      waiting--;
    }
  };

  /** The shared run, or a Timeout when `signal` aborts first; the run goes on for later requests. */
  const waitFor = (shared: NonNullable<typeof running>, signal: AbortSignal): Promise<Issued> =>
    new Promise((resolve, reject) => {
      const abort = (): void =>
        reject(new LockError("Timeout", `the request was cancelled while still waiting for the exec credential plugin "${name}", which has run for ${now() - shared.since} ms (it is stopped after ${limits.timeout} ms)`, { cause: signal.reason }));
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
      const done = (): void => signal.removeEventListener("abort", abort);
      shared.issued.then((value) => (done(), resolve(value)), (error: unknown) => (done(), reject(error)));
    });

  return {
    authorization: async (signal) => {
      const token = (await current(signal)).token;
      return token === undefined ? undefined : `Bearer ${token}`;
    },
    clientCertificate: async (signal) => (await current(signal)).certificate,
    refresh: async () => {
      issued = undefined;
    },
  };
};
