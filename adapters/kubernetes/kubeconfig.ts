/**
 * A Cluster from a kubeconfig file (YAML or JSON), as kubectl reads it: `$KUBECONFIG` (a list,
 * merged, first wins; `;`-separated on Windows, `:` elsewhere), else `~/.kube/config`; the current
 * or a named context; server, CA, client certificate, token, token file, and exec credential
 * plugins. Paths are relative to the file, by the platform's rules (paths.ts).
 *
 * @module
 */
import * as z from "zod/mini";
import type { Runtime, TlsOptions } from "../runtime/runtime.ts";
import { type Cluster, cluster, type Credentials, type Fetch, tokenCredentials } from "./cluster.ts";
import { type ClientCertificate, type ExecCredentials, execCredentials } from "./exec-credential.ts";
import { type Paths, pathsFor } from "./paths.ts";
import { explain, issuesOf } from "./schema-issues.ts";
import { fileTokenCredentials } from "./token-file.ts";
import { parseYaml } from "./yaml.ts";

export interface KubeconfigOptions {
  /** A kubeconfig file. Default: `$KUBECONFIG` (a list, merged: `;` separates on Windows, `:` elsewhere), else `~/.kube/config`. */
  readonly path?: string;
  /** Default: the file's `current-context`. */
  readonly context?: string;
  readonly maxResponseBytes?: number;
  readonly warn?: (message: string) => void;
}

// -------------------------------------------------------------------------------------
// the file
// -------------------------------------------------------------------------------------

const str = z.optional(z.nullable(z.string()));
const list = <T extends z.ZodMiniType>(item: T) => z.optional(z.nullable(z.array(item)));

const clusterEntry = z.object({
  name: z.string(),
  cluster: z.object({
    server: z.string({ error: "every cluster needs a server" }),
    "certificate-authority": str,
    "certificate-authority-data": str,
    "insecure-skip-tls-verify": z.optional(z.nullable(z.boolean())),
  }),
});

const userEntry = z.object({
  name: z.string(),
  user: z.object({
    token: str,
    tokenFile: str,
    "client-certificate": str,
    "client-certificate-data": str,
    "client-key": str,
    "client-key-data": str,
    username: str,
    "auth-provider": z.optional(z.unknown()),
    exec: z.optional(z.nullable(z.object({
      apiVersion: z.string(),
      command: z.string(),
      args: z.optional(z.nullable(z.array(z.string()))),
      env: z.optional(z.nullable(z.array(z.object({ name: z.string(), value: z.string() })))),
      installHint: z.optional(z.string()),
      provideClusterInfo: z.optional(z.boolean()),
      interactiveMode: z.optional(z.string()),
    }))),
  }),
});

const contextEntry = z.object({
  name: z.string(),
  context: z.object({ cluster: z.string(), user: z.optional(z.string()), namespace: str }),
});

const schema = z.object({
  "current-context": str,
  clusters: list(clusterEntry),
  users: list(userEntry),
  contexts: list(contextEntry),
});

type Kubeconfig = z.infer<typeof schema>;
type Entry<K extends "clusters" | "users" | "contexts"> = NonNullable<Kubeconfig[K]>[number] & { readonly dir: string };

interface Loaded {
  readonly currentContext: string | undefined;
  readonly clusters: Entry<"clusters">[];
  readonly users: Entry<"users">[];
  readonly contexts: Entry<"contexts">[];
}

const load = async (runtime: Runtime, paths: readonly string[], rules: Paths): Promise<Loaded> => {
  const merged: Loaded = { currentContext: undefined, clusters: [], users: [], contexts: [] };
  let current: string | undefined;
  for (const path of paths) {
    let text: string;
    try {
      text = await runtime.readFile(path);
    } catch (error) {
      if (paths.length > 1) continue; // kubectl skips missing files in a KUBECONFIG list
      throw new Error(`cannot read kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const parsed = schema.safeParse(parseYaml(text) ?? {}, { error: explain });
    if (!parsed.success) throw new Error(`kubeconfig ${path} is not valid:\n  - ${issuesOf(parsed.error).join("\n  - ")}`);
    const dir = rules.dirOf(path);
    const config = parsed.data;
    current ??= config["current-context"] ?? undefined;
    // First definition of a name wins, as kubectl merges.
    const add = <K extends "clusters" | "users" | "contexts">(key: K): void => {
      for (const item of config[key] ?? []) {
        if (!merged[key].some((existing) => existing.name === item.name)) (merged[key] as Entry<K>[]).push({ ...item, dir } as Entry<K>);
      }
    };
    add("clusters");
    add("users");
    add("contexts");
  }
  return { ...merged, currentContext: current };
};

// -------------------------------------------------------------------------------------
// the cluster
// -------------------------------------------------------------------------------------

const pem = async (runtime: Runtime, data: string | null | undefined, file: string | null | undefined, dir: string): Promise<string | undefined> => {
  if (data) return atob(data.replace(/\s+/g, ""));
  if (file) return runtime.readFile(pathsFor(runtime.windows).resolve(dir, file));
  return undefined;
};

export const fromKubeconfigWith = async (runtime: Runtime, options: KubeconfigOptions = {}): Promise<Cluster> => {
  const rules = pathsFor(runtime.windows);
  const home = rules.home((name) => runtime.env(name));
  const listed = options.path === undefined ? (runtime.env("KUBECONFIG") ?? "").split(rules.list).filter((p) => p !== "") : [options.path];
  const paths = listed.length > 0 ? listed : home === undefined ? [] : [rules.resolve(rules.resolve(home, ".kube"), "config")];
  if (paths.length === 0) throw new Error("fromKubeconfig: no path given, KUBECONFIG is not set and there is no home directory");
  const config = await load(runtime, paths, rules);

  const contextName = options.context ?? config.currentContext;
  if (!contextName) throw new Error(`kubeconfig ${paths.join(rules.list)} has no current-context; pass { context } (one of: ${config.contexts.map((c) => c.name).join(", ") || "none"})`);
  const context = config.contexts.find((c) => c.name === contextName);
  if (context === undefined) throw new Error(`kubeconfig has no context "${contextName}" (there are: ${config.contexts.map((c) => c.name).join(", ") || "none"})`);
  const server = config.clusters.find((c) => c.name === context.context.cluster);
  if (server === undefined) throw new Error(`kubeconfig context "${contextName}" names cluster "${context.context.cluster}", which is not defined`);
  const user = context.context.user === undefined ? undefined : config.users.find((u) => u.name === context.context.user);
  if (context.context.user !== undefined && user === undefined) throw new Error(`kubeconfig context "${contextName}" names user "${context.context.user}", which is not defined`);

  const warn = options.warn ?? ((message: string) => console.warn(`tenure: ${message}`));
  const c = server.cluster;
  const insecure = c["insecure-skip-tls-verify"] === true;
  const ca = await pem(runtime, c["certificate-authority-data"], c["certificate-authority"], server.dir);
  if (insecure && ca !== undefined) throw new Error(`kubeconfig cluster "${server.name}" sets both a CA and insecure-skip-tls-verify; choose one`);
  if (insecure) warn(`TLS verification is OFF for ${c.server} (insecure-skip-tls-verify in kubeconfig cluster "${server.name}"): anyone on the network path can impersonate the API server`);

  const u = user?.user ?? {};
  if (u["auth-provider"] !== undefined) throw new Error(`kubeconfig user "${user?.name}" uses an auth-provider, which was removed from Kubernetes clients; use an exec plugin instead`);
  if (u.username) throw new Error(`kubeconfig user "${user?.name}" uses basic auth (username/password), which the API server no longer supports`);
  const cert = await pem(runtime, u["client-certificate-data"], u["client-certificate"], user?.dir ?? ".");
  const key = await pem(runtime, u["client-key-data"], u["client-key"], user?.dir ?? ".");
  if ((cert === undefined) !== (key === undefined)) throw new Error(`kubeconfig user "${user?.name}" has a client certificate without a key, or a key without a certificate`);

  const tls: TlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(insecure ? { insecureSkipTlsVerify: true } : {}),
  };
  const exec = u.exec
    ? execCredentials(runtime, u.exec, {
      server: c.server,
      ...(c["certificate-authority-data"] ? { "certificate-authority-data": c["certificate-authority-data"] } : {}),
      ...(insecure ? { "insecure-skip-tls-verify": true } : {}),
    })
    : undefined;
  const credentials: Credentials | undefined = exec ??
    (u.token ? tokenCredentials(u.token) : u.tokenFile ? fileTokenCredentials(rules.resolve(user?.dir ?? ".", u.tokenFile), (p) => runtime.readFile(p)) : undefined);

  return cluster({
    server: c.server,
    fetch: exec === undefined ? runtime.tlsFetch(tls) : certificateFetch(runtime, tls, exec),
    credentials,
    namespace: context.context.namespace || "default",
    maxResponseBytes: options.maxResponseBytes,
    warn,
  });
};

/** A fetch that presents the client certificate an exec plugin issued, rebuilt when it changes. */
const certificateFetch = (runtime: Runtime, tls: TlsOptions, exec: ExecCredentials): Fetch => {
  let last: { readonly certificate: ClientCertificate | undefined; readonly fetch: Fetch } | undefined;
  return async (url, init) => {
    const certificate = await exec.clientCertificate(init.signal ?? undefined);
    if (last === undefined || last.certificate !== certificate) {
      last = { certificate, fetch: runtime.tlsFetch(certificate === undefined ? tls : { ...tls, ...certificate }) };
    }
    return last.fetch(url, init);
  };
};
