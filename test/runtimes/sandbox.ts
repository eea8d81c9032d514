/**
 * A place on the shared test cluster for one runtime's tests, set up as the admin over plain REST
 * (test/cluster/client.ts trusts the cluster's CA on Node, Deno and Bun alike): a fresh namespace,
 * a ServiceAccount bound to the README's Role (or whatever a manifest creates), and a folder laid
 * out like a pod's service-account mount. Uses only what all three runtimes provide (node:fs, node:os, fetch).
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectCluster } from "../cluster/connect.ts";
import type { TestCluster } from "../cluster/client.ts";
import { sleep } from "../support/wait.ts";

/** The Role from the README: what an elector needs on Leases, and nothing else. */
export const ELECTION_RULES: readonly object[] = [
  { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "create", "update", "watch"] },
];

export interface Sandbox {
  readonly kube: TestCluster;
  readonly namespace: string;
  /** token, ca.crt and namespace, as Kubernetes mounts them into a pod. */
  readonly serviceAccountDir: string;
  /** What a pod has in KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT. */
  readonly serviceHost: string;
  readonly servicePort: string;
  /** The Lease `name` in this namespace, as the admin sees it. */
  lease(name: string): Promise<any>;
  /** Deletes the service-account folder (the namespace goes with the cluster). */
  dispose(): Promise<void>;
}

const must = async (what: string, response: Promise<{ status: number; text: string }>): Promise<void> => {
  const { status, text } = await response;
  if (status >= 300) throw new Error(`${what}: HTTP ${status}: ${text}`);
};

/** A Kubernetes object as a manifest has it. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
  readonly [field: string]: unknown;
}

export interface SandboxOptions {
  /**
   * Objects to create in the namespace instead of the default Role and binding (as
   * `kubectl apply -n <namespace>` would; workloads only in a server-side dry run, since the test
   * cluster runs no controllers or kubelets). The pod's token is for `serviceAccount`.
   */
  readonly manifest?: readonly Manifest[];
  readonly serviceAccount?: string;
}

const COLLECTIONS: Readonly<Record<string, string>> = {
  "v1/ServiceAccount": "/api/v1/namespaces/NS/serviceaccounts",
  "rbac.authorization.k8s.io/v1/Role": "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/roles",
  "rbac.authorization.k8s.io/v1/RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/NS/rolebindings",
  "apps/v1/Deployment": "/apis/apps/v1/namespaces/NS/deployments?dryRun=All",
};

export const sandbox = async (prefix: string, options: SandboxOptions = {}): Promise<Sandbox> => {
  const kube = await connectCluster();
  const namespace = await kube.createNamespace(prefix);
  const serviceAccount = options.serviceAccount ?? "elector";
  const manifest = options.manifest ?? [
    { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "leader-election" }, rules: ELECTION_RULES },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "leader-election" },
      subjects: [{ kind: "ServiceAccount", name: serviceAccount, namespace }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "leader-election" },
    },
  ];
  for (const object of manifest) {
    const collection = COLLECTIONS[`${object.apiVersion}/${object.kind}`];
    if (collection === undefined) throw new Error(`sandbox: cannot create a ${object.apiVersion} ${object.kind}`);
    // Strict: a misspelt field in the manifest is an error, not a warning.
    const url = `${collection.replace("NS", namespace)}${collection.includes("?") ? "&" : "?"}fieldValidation=Strict`;
    await must(`create ${object.kind} ${object.metadata.name}`, kube.request("POST", url, object));
  }
  const token = await kube.serviceAccountToken(namespace, serviceAccount, { expirationSeconds: 3600 });
  const serviceAccountDir = await mkdtemp(join(tmpdir(), "tenure-sa-"));
  await writeFile(join(serviceAccountDir, "token"), token);
  await writeFile(join(serviceAccountDir, "ca.crt"), kube.caPem);
  await writeFile(join(serviceAccountDir, "namespace"), namespace);
  await rbacReady(kube, namespace, token);
  const url = new URL(kube.server);
  return {
    kube,
    namespace,
    serviceAccountDir,
    serviceHost: url.hostname,
    servicePort: url.port,
    lease: async (name) => (await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`)).json,
    dispose: () => rm(serviceAccountDir, { recursive: true, force: true }),
  };
};

/** RBAC is served from an informer cache: wait until the binding takes effect. */
const rbacReady = async (kube: TestCluster, namespace: string, token: string): Promise<void> => {
  for (let i = 0; i < 100; i++) {
    const { status } = await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/probe`, undefined, token);
    if (status === 404) return;
    await sleep(50);
  }
  throw new Error("RBAC did not take effect within 5 s");
};
