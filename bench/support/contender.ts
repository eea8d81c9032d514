/**
 * In-process tenure electors on the real cluster, each with its own connection pool and a fetch
 * that counts the requests it starts (watch connections included) and can be cut to simulate a
 * crash or a lost network: after `cut()` no request reaches the server; new ones hang until aborted.
 */
import { type Cluster, cluster, leaseLock } from "../../adapters/kubernetes/entry-node.ts";
import { runtime } from "../../adapters/runtime/node.ts";
import { createElector, type Elector } from "../../src/index.ts";
import type { Timings } from "./config.ts";
import type { Sandbox, TestCluster } from "./kube.ts";

export type RequestKind = "GET" | "PATCH" | "PUT" | "POST" | "watch" | "other";

export interface Sent {
  /** performance.now() when the client started the request. */
  readonly at: number;
  readonly kind: RequestKind;
}

export interface Contender {
  readonly id: string;
  readonly elector: Elector;
  readonly controller: AbortController;
  readonly sent: Sent[];
  /** When onStartedLeading ran: performance.now() and Date.now(). */
  readonly started: { readonly perf: number; readonly wall: number } | undefined;
  /** When the leader's signal was aborted (performance.now()). */
  readonly steppedDown: number | undefined;
  readonly done: Promise<unknown>;
  /** What onError heard: performance.now() and `reason: message`. */
  readonly errors: { readonly at: number; readonly text: string }[];
  cut(): void;
}

/** What a request was, by its URL (watches are GETs with watch=true) and method. */
export const kindOf = (url: string, method: string | undefined): RequestKind => {
  if (/[?&]watch=(true|1)/.test(url)) return "watch";
  const m = (method ?? "GET").toUpperCase();
  return m === "GET" || m === "PATCH" || m === "PUT" || m === "POST" ? m : "other";
};

/** Starts one elector on `name` in the sandbox, as its ServiceAccount, with its own counted, cuttable network. */
export const contend = (
  kube: TestCluster,
  box: Sandbox,
  name: string,
  id: string,
  timings: Timings,
  releaseOnCancel: boolean,
): Contender => {
  const base: Cluster = cluster({ server: kube.server, fetch: runtime.tlsFetch({ ca: kube.caPem }), token: box.token, namespace: box.namespace });
  const sent: Sent[] = [];
  let isCut = false;
  const fetch: Cluster["fetch"] = (url, init) => {
    if (isCut) {
      return new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason), { once: true }));
    }
    sent.push({ at: performance.now(), kind: kindOf(url, init.method) });
    return base.fetch(url, init);
  };
  const controller = new AbortController();
  const errors: { at: number; text: string }[] = [];
  const marks: { started?: { readonly perf: number; readonly wall: number }; steppedDown?: number } = {};
  const elector = createElector({
    lock: leaseLock({ ...base, fetch }, { name }),
    identity: id,
    ...timings,
    releaseOnCancel,
    onStartedLeading: (signal) => {
      marks.started = { perf: performance.now(), wall: Date.now() };
      signal.addEventListener("abort", () => (marks.steppedDown = performance.now()), { once: true });
    },
    onStoppedLeading: () => {},
    onError: (error) => void errors.push({ at: performance.now(), text: `${error.reason}: ${error.message}` }),
  });
  return {
    id,
    elector,
    controller,
    sent,
    errors,
    done: elector.run(controller.signal).catch((error: unknown) => error),
    cut: () => void (isCut = true),
    get started() {
      return marks.started;
    },
    get steppedDown() {
      return marks.steppedDown;
    },
  };
};

export type Counts = Record<RequestKind, number> & { total: number };

/** Counts of `sent` in [from, to), per kind. */
export const countBetween = (sent: readonly Sent[], from: number, to: number): Counts => {
  const counts = { GET: 0, PATCH: 0, PUT: 0, POST: 0, watch: 0, other: 0, total: 0 };
  for (const s of sent) {
    if (s.at < from || s.at >= to) continue;
    counts[s.kind]++;
    counts.total++;
  }
  return counts;
};

/** Requests per minute of `sent` in [from, to), per kind. */
export const ratesBetween = (sent: readonly Sent[], from: number, to: number): Counts => {
  const minutes = (to - from) / 60_000;
  const counts = countBetween(sent, from, to);
  return Object.fromEntries(Object.entries(counts).map(([kind, n]) => [kind, n / minutes])) as Counts;
};
