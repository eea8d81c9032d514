/**
 * A connection to one API server, as the adapter sees it: a base URL, a `fetch` function (which
 * carries the TLS settings: custom CA, client certificate), and credentials. Nothing else about
 * the runtime leaks in here.
 *
 * @module
 */

// -------------------------------------------------------------------------------------
// model
// -------------------------------------------------------------------------------------

/** The only seam to the network. Runtime transports close over a CA or client certificate. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** Where bearer tokens come from; refreshed after a 401. */
export interface Credentials {
  /**
   * The `Authorization` header value for the next request, if any. Rejects when `signal` aborts
   * first (the request's timeout), even if fetching credentials goes on for later requests.
   */
  authorization(signal?: AbortSignal): Promise<string | undefined>;
  /** Fetches fresh credentials (re-reads a token file, re-runs an exec plugin); called after a 401. */
  refresh(): Promise<void>;
}

export interface Cluster {
  /** `https://host:port`, without a trailing slash. */
  readonly server: string;
  /** The namespace to use when a lock names none (in-cluster: the pod's own). */
  readonly namespace: string | undefined;
  readonly fetch: Fetch;
  readonly credentials: Credentials | undefined;
  /** Responses (and watch lines) larger than this are refused as a Decode error. */
  readonly maxResponseBytes: number;
  /** Reports a warning once per distinct text (server `Warning` headers, insecure settings). */
  readonly warn: (message: string) => void;
}

export interface ClusterOptions {
  readonly server: string;
  /** Default: the runtime's global `fetch` (which trusts only public CAs). */
  readonly fetch?: Fetch | undefined;
  /** A bearer token, or a function returning the current one. */
  readonly token?: string | (() => string | Promise<string>) | undefined;
  /** Instead of `token`: full control over credentials and refresh. */
  readonly credentials?: Credentials | undefined;
  readonly namespace?: string | undefined;
  /** Default 3 MiB: a Lease is tiny, but a legacy ConfigMap lock can hold up to 1 MiB of data. */
  readonly maxResponseBytes?: number | undefined;
  /** Default: `console.warn` with a `tenure:` prefix. */
  readonly warn?: ((message: string) => void) | undefined;
}

export const DEFAULT_MAX_RESPONSE_BYTES: number = 3 * 1024 * 1024;

// -------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------

/** A cluster from explicit settings; `inCluster()` and `fromKubeconfig()` build one for you. */
export const cluster = (options: ClusterOptions): Cluster => {
  const seen = new Set<string>();
  const warn = options.warn ?? ((message: string) => console.warn(`tenure: ${message}`));
  return {
    server: options.server.replace(/\/+$/, ""),
    namespace: options.namespace,
    fetch: options.fetch ?? ((url, init) => fetch(url, init)),
    credentials: options.credentials ?? (options.token === undefined ? undefined : tokenCredentials(options.token)),
    maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    warn: (message) => {
      if (seen.has(message)) return;
      seen.add(message);
      warn(message);
    },
  };
};

/** Credentials from a fixed token or a function that returns the current one. */
export const tokenCredentials = (token: string | (() => string | Promise<string>)): Credentials => ({
  authorization: async () => {
    const value = typeof token === "function" ? await token() : token;
    return value === "" ? undefined : `Bearer ${value}`;
  },
  refresh: async () => {},
});
