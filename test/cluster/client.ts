/**
 * What tests get from a running test cluster: its connection info (plain JSON, so another process
 * can pick it up) and helpers that talk to it as the admin. Shared by `startCluster` and
 * `connectCluster`.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { issueCert, type IssuedCert } from "./pki.ts";

/** Everything needed to reach the cluster; `with-cluster` writes it to the file named by `TENURE_CLUSTER`. */
export interface ClusterInfo {
  /** `https://127.0.0.1:PORT` */
  server: string;
  /** CA that signed the serving certificate. */
  caFile: string;
  caPem: string;
  /** Bearer token of user `admin` in group `system:masters`. */
  adminToken: string;
  /** A file holding just the admin token. */
  adminTokenFile: string;
  /** Admin kubeconfig (token auth, `certificate-authority` path). */
  kubeconfig: string;
  /** Temp dir holding all of the above, the logs and etcd's data. */
  dir: string;
  binDir: string;
  /** etcd's client URL (plain HTTP; its JSON gateway serves e.g. `POST /v3/kv/compaction`). */
  etcdServer: string;
  apiserverLog: string;
  etcdLog: string;
  /** CA trusted for client certificates (`--client-ca-file`) and its key. */
  clientCaFile: string;
  clientCaKeyFile: string;
  /** A name the API server answers with another certificate, signed by another CA, when sent as SNI. */
  sni: { name: string; caPem: string };
}

export interface ApiResponse {
  status: number;
  /** Parsed body, or undefined when it is not JSON. `any` because tests read arbitrary fields. */
  json: any;
  text: string;
}

export interface TokenOptions {
  expirationSeconds?: number;
  /** Binds the token to an object: it stops working when that object is deleted. */
  boundObject?: { kind: "Secret"; name: string; uid: string };
}

export interface ClusterClient {
  /**
   * Sends `body` as JSON (a string is sent as is; PATCH uses merge-patch) with the admin token,
   * or with `token` if given (`""` sends no credentials).
   */
  request(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse>;
  /** Raw fetch against the server with the CA trusted, e.g. to read a watch stream. No credentials added. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Creates a namespace named `<prefix>-<counter>-<random>` and returns the name. */
  createNamespace(prefix: string): Promise<string>;
  /** A token for the ServiceAccount from the TokenRequest API; creates the ServiceAccount if missing. */
  serviceAccountToken(namespace: string, serviceAccount: string, opts?: TokenOptions): Promise<string>;
  /** A client certificate for `user` in `groups`, signed by the cluster's client CA. */
  issueClientCert(user: string, groups: string[]): Promise<IssuedCert>;
}

export interface TestCluster extends ClusterInfo, ClusterClient {
  /** The JSON file with the {@link ClusterInfo}, for `TENURE_CLUSTER`. */
  infoFile: string;
  stop(): Promise<void>;
}

export type { IssuedCert };

type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

interface DenoLike {
  createHttpClient(options: { caCerts: string[] }): unknown;
}

/** A fetch that trusts `caPem`, by whatever means the runtime offers. */
export async function fetchTrusting(caPem: string): Promise<Fetch> {
  const deno = (globalThis as { Deno?: DenoLike }).Deno;
  if (deno !== undefined) {
    const client = deno.createHttpClient({ caCerts: [caPem] });
    return (url, init) => fetch(url, { ...init, client } as RequestInit);
  }
  if ("Bun" in globalThis) {
    return (url, init) => fetch(url, { ...init, tls: { ca: caPem } } as RequestInit);
  }
  // Node's global fetch has no CA option; undici's own fetch with its own Agent does.
  const undici = await import("undici");
  const dispatcher = new undici.Agent({ connect: { ca: caPem } });
  return (url, init) => undici.fetch(url, { ...init, dispatcher } as never) as unknown as Promise<Response>;
}

let counter = 0;

function suffix(): string {
  counter += 1;
  return `${counter}-${randomBytes(3).toString("hex")}`;
}

/** Builds the helpers for a cluster described by `info`; touches nothing until a helper is called. */
export async function clusterClient(info: ClusterInfo): Promise<ClusterClient> {
  const trusted = await fetchTrusting(info.caPem);

  const request = async (method: string, path: string, body?: unknown, token: string = info.adminToken): Promise<ApiResponse> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (token !== "") headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) {
      headers["content-type"] = method.toUpperCase() === "PATCH" ? "application/merge-patch+json" : "application/json";
    }
    const payload = body === undefined ? null : typeof body === "string" ? body : JSON.stringify(body);
    const response = await trusted(info.server + path, { method, headers, body: payload });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json, text };
  };

  const mustBe = (what: string, res: ApiResponse, ...ok: number[]): void => {
    if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status}: ${res.json?.message ?? res.text}`);
  };

  return {
    request,
    fetch: (path, init) => trusted(info.server + path, init),

    async createNamespace(prefix) {
      const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 40).replace(/^-+|-+$/g, "") || "ns";
      const name = `${clean}-${suffix()}`;
      const res = await request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name } });
      mustBe(`create namespace ${name}`, res, 201);
      return name;
    },

    async serviceAccountToken(namespace, serviceAccount, opts = {}) {
      const base = `/api/v1/namespaces/${namespace}/serviceaccounts`;
      const created = await request("POST", base, { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: serviceAccount } });
      mustBe(`create serviceaccount ${namespace}/${serviceAccount}`, created, 201, 409);
      const spec: Record<string, unknown> = {};
      if (opts.expirationSeconds !== undefined) spec["expirationSeconds"] = opts.expirationSeconds;
      if (opts.boundObject !== undefined) spec["boundObjectRef"] = { apiVersion: "v1", ...opts.boundObject };
      const res = await request("POST", `${base}/${serviceAccount}/token`, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec,
      });
      mustBe(`token for ${namespace}/${serviceAccount}`, res, 201);
      return res.json.status.token as string;
    },

    async issueClientCert(user, groups) {
      const dir = join(info.dir, "clients");
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const safe = user.toLowerCase().replace(/[^a-z0-9-]+/g, "-").slice(0, 40);
      return issueCert({
        ca: { certFile: info.clientCaFile, keyFile: info.clientCaKeyFile },
        base: join(dir, `${safe}-${suffix()}`),
        commonName: user,
        organizations: groups,
        usage: "clientAuth",
      });
    },
  };
}

/** The JSON-serialisable part of a cluster, in a fixed shape. */
export function clusterInfo(c: ClusterInfo): ClusterInfo {
  const { server, caFile, caPem, adminToken, adminTokenFile, kubeconfig, dir, binDir, etcdServer } = c;
  const { apiserverLog, etcdLog, clientCaFile, clientCaKeyFile, sni } = c;
  return { server, caFile, caPem, adminToken, adminTokenFile, kubeconfig, dir, binDir, etcdServer, apiserverLog, etcdLog, clientCaFile, clientCaKeyFile, sni };
}
