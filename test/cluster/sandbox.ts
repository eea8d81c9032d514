/**
 * A place on the test cluster for one test or benchmark, set up as the admin: a fresh namespace, a
 * ServiceAccount bound to the README's Role (or to other rules, to none, or to whatever a manifest
 * creates), its token, and a folder laid out like a pod's service-account mount. The one RBAC
 * set-up that the e2e tests, the runtime matrix and the benchmarks share. Uses only what Node,
 * Deno and Bun all provide (node:fs, node:os, fetch).
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestCluster } from "./client.ts";

/** The Role from the README: what an elector needs on Leases, and nothing else. */
export const ELECTION_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "patch", "watch"] },
];

/** client-go's Role, without `patch`: tenure then writes every update with a PUT. */
export const CLIENT_GO_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "watch"] },
];

/** A Kubernetes object as a manifest has it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly [field: string]: unknown;
}

export interface SandboxOptions {
  /**
   * The rules of the ServiceAccount's Role (default {@link ELECTION_RULES}); `null`: no Role and no
   * binding, so the account may do nothing at all.
   */
  readonly rules?: readonly object[] | null;
  /**
   * Objects to create in the namespace instead of the Role and binding (as
   * `kubectl apply -n <namespace>` would; workloads only in a server-side dry run, since the test
   * cluster runs no controllers or kubelets). Not together with `rules`.
   */
  readonly manifest?: readonly Manifest[];
  /** The ServiceAccount whose token the sandbox holds (default `elector`). */
  readonly serviceAccount?: string;
  /** How long the token lives (default 3600 s). */
  readonly tokenSeconds?: number;
}

export interface Sandbox {
  readonly kube: TestCluster;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly token: string;
  /** token, ca.crt and namespace, as Kubernetes mounts them into a pod. */
  readonly serviceAccountDir: string;
  /** The token's file in `serviceAccountDir`, for programs that take a token file. */
  readonly tokenFile: string;
  /** What a pod has in KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. */
  readonly serviceHost: string;
  readonly servicePort: string;
  /** The Lease `name` in this namespace as the admin sees it (the API server's JSON: a Status when missing). */
  lease(name: string): Promise<any>;
  /** Deletes the service-account folder (the namespace goes with the cluster). */
  dispose(): Promise<void>;
}

const COLLECTIONS: Readonly<Record<string, string>> = {
  "v1/ServiceAccount": "/api/v1/namespaces/NS/serviceaccounts",
  "rbac.authorization.k8s.io/v1/Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles",
  "rbac.authorization.k8s.io/v1/RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings",
  "apps/v1/Deployment": "/apis/apps/v1/namespaces/NS/deployments?dryRun=All",
};

/** The Role `leader-election` with `rules`, bound to `serviceAccount`. */
const electionRole = (namespace: string, serviceAccount: string, rules: readonly object[]): readonly Manifest[] => [
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "leader-election" }, rules },
  {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: "leader-election" },
    subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
  },
];

/** A fresh namespace named after `prefix`, set up as `options` say, with the RBAC in effect when it returns. */
export const createSandbox = async (kube: TestCluster, prefix: string, options: SandboxOptions = {}): Promise<Sandbox> => {
  if (options.manifest !== undefined && options.rules !== undefined) {
    throw new Error("sandbox: give either rules or a manifest, not both (a manifest brings its own Role)");
  }
  const namespace = await kube.createNamespace(prefix);
  const serviceAccount = options.serviceAccount ?? "elector";
  const rules = options.rules === undefined ? ELECTION_RULES : options.rules;
  const manifest = options.manifest ?? (rules === null ? [] : electionRole(namespace, serviceAccount, rules));
  for (const object of manifest) {
    const collection = COLLECTIONS[`${object.apiVersion}/${object.kind}`];
    if (collection === undefined) throw new Error(`sandbox: cannot create a ${object.apiVersion} ${object.kind}`);
    // Strict: a misspelt field in the manifest is an error, not a warning.
    const url = `${collection.replace("NS", namespace)}${collection.includes("?") ? "&" : "?"}fieldValidation=Strict`;
    const { status, text } = await kube.request("POST", url, object);
    if (status >= 300) throw new Error(`sandbox: create ${object.kind} ${object.metadata.name}: HTTP ${status}: ${text}`);
  }
  const token = await kube.serviceAccountToken(namespace, serviceAccount, { expirationSeconds: options.tokenSeconds ?? 3600 });
  const serviceAccountDir = await mkdtemp(join(tmpdir(), "tenure-sa-"));
  const tokenFile = join(serviceAccountDir, "token");
  await writeFile(tokenFile, token, { mode: 0o600 });
  await writeFile(join(serviceAccountDir, "ca.crt"), kube.caPem);
  await writeFile(join(serviceAccountDir, "namespace"), namespace);
  if (rules !== null) await rbacInEffect(kube, namespace, token);
  const url = new URL(kube.server);
  return {
    kube,
    namespace,
    serviceAccount,
    token,
    serviceAccountDir,
    tokenFile,
    serviceHost: url.hostname,
    servicePort: url.port,
    lease: async (name) => (await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`)).json,
    dispose: () => rm(serviceAccountDir, { recursive: true, force: true }),
  };
};

/** RBAC is served from an informer cache: wait until the account may read Leases (a missing one is a 404, not a 403). */
const rbacInEffect = async (kube: TestCluster, namespace: string, token: string): Promise<void> => {
  let status = 0;
  for (let i = 0; i < 100; i++) {
    ({ status } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/probe`, undefined, token));
    if (status === 404) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sandbox: RBAC for ${namespace} did not take effect within 5 s (HTTP ${status})`);
};
