/**
 * A Cluster from a kubeconfig file (YAML or JSON), as kubectl reads it: `$KUBECONFIG` (a list,
 * merged, first wins; `;`-separated on Windows, `:` elsewhere), else `~/.kube/config`; the current
 * or a named context; server, CA, `tls-server-name`, `proxy-url` (else HTTPS_PROXY and NO_PROXY,
 * by Go's rules), client certificate, token, token file, and exec credential plugins (their
 * `provideClusterInfo` gets what kubectl gives). Paths are relative to the file, by the platform's
 * rules (paths.ts), and so is a plugin command with a path separator in it. Whatever kubectl would
 * do with a field that tenure cannot do is an error, never skipped: KubeconfigError for the file,
 * UnsupportedError for what this runtime cannot do.
 *
 * @module
 */
import type * as Z from "zod/mini";
import { TenureError } from "../../src/errors.ts";
import type { Runtime, TlsOptions } from "../runtime/runtime.ts";
import { type Cluster, cluster, type Credentials, type Fetch, tokenCredentials } from "./cluster.ts";
import { proxyOf } from "./connect.ts";
import { type ClientCertificate, type ExecClusterInfo, type ExecCredentials, execCredentials } from "./exec-credential.ts";
import { type Paths, pathsFor } from "./paths.ts";
import { explain, issuesOf } from "./schema-issues.ts";
import { KubeconfigError } from "./setup-errors.ts";
import { fileTokenCredentials } from "./token-file.ts";
import { parseYaml, YamlError } from "./yaml.ts";

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

/**
 * The file's schema, built with zod when a kubeconfig is first read: a program that never reads
 * one (in-cluster) never loads zod, about 2.8 MiB of heap on Node.
 */
const schemaWith = (z: typeof Z) => {
  const str = z.optional(z.nullable(z.string()));
  const list = <T extends Z.ZodMiniType>(item: T) => z.optional(z.nullable(z.array(item)));

  const clusterEntry = z.object({
    name: z.string(),
    cluster: z.object({
      server: z.string({ error: "every cluster needs a server" }),
      "certificate-authority": str,
      "certificate-authority-data": str,
      "insecure-skip-tls-verify": z.optional(z.nullable(z.boolean())),
      "tls-server-name": str,
      "proxy-url": str,
      "disable-compression": z.optional(z.nullable(z.boolean())),
      extensions: list(z.object({ name: z.string(), extension: z.optional(z.unknown()) })),
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
      password: str,
      as: str,
      "as-uid": str,
      "as-groups": z.optional(z.unknown()),
      "as-user-extra": z.optional(z.unknown()),
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

  return z.object({
    "current-context": str,
    clusters: list(clusterEntry),
    users: list(userEntry),
    contexts: list(contextEntry),
  });
};
let schema: ReturnType<typeof schemaWith> | undefined;

type Kubeconfig = Z.infer<ReturnType<typeof schemaWith>>;
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
      if (error instanceof TenureError) throw error; // this runtime reads no files
      throw new KubeconfigError(`cannot read kubeconfig ${path}: ${error instanceof Error ? error.message : String(error)}`, { path, cause: error });
    }
    let yaml: unknown;
    try {
      yaml = parseYaml(text);
    } catch (error) {
      if (!(error instanceof YamlError)) throw error;
      throw new KubeconfigError(error.message.replace(/^kubeconfig /, `kubeconfig ${path} `), { path, line: error.line, column: error.column, cause: error });
    }
    schema ??= schemaWith(await import("zod/mini"));
    const parsed = schema.safeParse(yaml ?? {}, { error: explain });
    if (!parsed.success) throw new KubeconfigError(`kubeconfig ${path} is not valid:\n  - ${issuesOf(parsed.error).join("\n  - ")}`, { path });
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

/** The cluster's `client.authentication.k8s.io/exec` extension, which kubectl hands to the plugin. */
const EXEC_EXTENSION = "client.authentication.k8s.io/exec";

const base64 = (text: string): string => {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
};

export const fromKubeconfigWith = async (runtime: Runtime, options: KubeconfigOptions = {}): Promise<Cluster> => {
  try {
    return await build(runtime, options);
  } catch (error) {
    if (error instanceof TenureError) throw error;
    throw new KubeconfigError(error instanceof Error ? error.message : String(error), { cause: error });
  }
};

const build = async (runtime: Runtime, options: KubeconfigOptions): Promise<Cluster> => {
  const rules = pathsFor(runtime.windows);
  const home = rules.home((name) => runtime.env(name));
  const listed = options.path === undefined ? (runtime.env("KUBECONFIG") ?? "").split(rules.list).filter((p) => p !== "") : [options.path];
  const paths = listed.length > 0 ? listed : home === undefined ? [] : [rules.resolve(rules.resolve(home, ".kube"), "config")];
  if (paths.length === 0) throw new KubeconfigError("fromKubeconfig: no path given, KUBECONFIG is not set and there is no home directory");
  const config = await load(runtime, paths, rules);
  const fail = (message: string): never => {
    throw new KubeconfigError(message, paths.length === 1 ? { path: paths[0] } : {});
  };

  const contextName = options.context ?? config.currentContext;
  if (!contextName) fail(`kubeconfig ${paths.join(rules.list)} has no current-context; pass { context } (one of: ${config.contexts.map((c) => c.name).join(", ") || "none"})`);
  const context = config.contexts.find((c) => c.name === contextName) ?? fail(`kubeconfig has no context "${contextName}" (there are: ${config.contexts.map((c) => c.name).join(", ") || "none"})`);
  const server = config.clusters.find((c) => c.name === context.context.cluster) ?? fail(`kubeconfig context "${contextName}" names cluster "${context.context.cluster}", which is not defined`);
  const user = context.context.user === undefined ? undefined : config.users.find((u) => u.name === context.context.user);
  if (context.context.user !== undefined && user === undefined) fail(`kubeconfig context "${contextName}" names user "${context.context.user}", which is not defined`);

  const warn = options.warn ?? ((message: string) => console.warn(`tenure: ${message}`));
  const c = server.cluster;
  const insecure = c["insecure-skip-tls-verify"] === true;
  const ca = await pem(runtime, c["certificate-authority-data"], c["certificate-authority"], server.dir);
  if (insecure && ca !== undefined) fail(`kubeconfig cluster "${server.name}" sets both a CA and insecure-skip-tls-verify; choose one`);
  if (insecure) warn(`TLS verification is OFF for ${c.server} (insecure-skip-tls-verify in kubeconfig cluster "${server.name}"): anyone on the network path can impersonate the API server`);

  const u = user?.user ?? {};
  const who = `kubeconfig user "${user?.name}"`;
  if (u["auth-provider"] !== undefined) fail(`${who} uses an auth-provider, which was removed from Kubernetes clients; use an exec plugin instead`);
  if (u.username || u.password) fail(`${who} uses basic auth (username/password), which the API server no longer supports`);
  // client-go impersonates only when `as` names a user; the other as-* fields go with it.
  if (u.as) fail(`${who} impersonates "${u.as}" (as), which tenure does not do; give the elector its own credentials`);
  const cert = await pem(runtime, u["client-certificate-data"], u["client-certificate"], user?.dir ?? ".");
  const key = await pem(runtime, u["client-key-data"], u["client-key"], user?.dir ?? ".");
  if ((cert === undefined) !== (key === undefined)) fail(`${who} has a client certificate without a key, or a key without a certificate`);

  const serverName = c["tls-server-name"] || undefined;
  const tls: TlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(insecure ? { insecureSkipTlsVerify: true } : {}),
    ...(serverName === undefined ? {} : { serverName }),
  };
  const proxy = proxyOf(runtime, { server: c.server, tls, proxyUrl: c["proxy-url"] ?? undefined, source: `kubeconfig cluster "${server.name}"` }, warn);

  let exec: ExecCredentials | undefined;
  if (u.exec) {
    // kubectl resolves a command with a path separator against the kubeconfig's folder; a bare name is looked up on PATH.
    const command = u.exec.command.includes(runtime.windows ? "\\" : "/") ? rules.resolve(user?.dir ?? ".", u.exec.command) : u.exec.command;
    const extension = c.extensions?.find((e) => e.name === EXEC_EXTENSION)?.extension;
    const info: ExecClusterInfo = {
      server: c.server,
      ...(serverName === undefined ? {} : { "tls-server-name": serverName }),
      ...(insecure ? { "insecure-skip-tls-verify": true } : {}),
      ...(ca === undefined ? {} : { "certificate-authority-data": c["certificate-authority-data"]?.replace(/\s+/g, "") || base64(ca) }),
      ...(c["proxy-url"] && proxy !== undefined ? { "proxy-url": proxy.href } : {}),
      ...(c["disable-compression"] ? { "disable-compression": true } : {}),
      ...(extension === undefined ? {} : { config: extension }),
    };
    exec = execCredentials(runtime, { ...u.exec, command }, info);
  }
  const credentials: Credentials | undefined = exec ??
    (u.token ? tokenCredentials(u.token) : u.tokenFile ? fileTokenCredentials(rules.resolve(user?.dir ?? ".", u.tokenFile), (p) => runtime.readFile(p)) : undefined);

  return cluster({
    server: c.server,
    fetch: exec === undefined ? runtime.tlsFetch(tls, proxy) : certificateFetch(runtime, tls, proxy, exec),
    credentials,
    namespace: context.context.namespace || "default",
    maxResponseBytes: options.maxResponseBytes,
    warn,
  });
};

/** A fetch that presents the client certificate an exec plugin issued, rebuilt when it changes. */
const certificateFetch = (runtime: Runtime, tls: TlsOptions, proxy: URL | undefined, exec: ExecCredentials): Fetch => {
  let last: { readonly certificate: ClientCertificate | undefined; readonly fetch: Fetch } | undefined;
  return async (url, init) => {
    const certificate = await exec.clientCertificate(init.signal ?? undefined);
    if (last === undefined || last.certificate !== certificate) {
      last = { certificate, fetch: runtime.tlsFetch(certificate === undefined ? tls : { ...tls, ...certificate }, proxy) };
    }
    return last.fetch(url, init);
  };
};
