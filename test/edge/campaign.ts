/**
 * One contender of the edge test, as every runtime runs it (a Durable Object in workerd, an edge
 * function in edge-runtime, the test process on Node): an elector on one Lease that reports what it
 * does to the test's collector (collector.ts), which timestamps every report on its own monotonic
 * clock, so that leadership in different processes and runtimes can be compared.
 *
 * Reports are awaited where order matters, which is what makes the collector's times safe to judge:
 * - "started" is acknowledged by the collector *before* the leader's work begins, so the
 *   collector's time for it is no later than the work's start;
 * - "work_stopped" is sent once the work has ended (the signal aborted) and acknowledged before
 *   `onStartedLeading` returns, i.e. before the elector releases the Lease; so its collector time is
 *   no earlier than the work's end, and earlier than any successor's "started".
 * So each [started, work_stopped] on the collector's clock contains the work it stands for, and no
 * bound on delivery latency is needed to say two of them do not overlap.
 *
 * Only web APIs (fetch, AbortController, JSON): it is bundled into the Worker and the edge function.
 * tenure itself comes in as arguments, so that this file type-checks before dist/ exists and each
 * runtime passes the build of tenure that its bundle resolved.
 *
 * @module
 */
import type * as Core from "../../src/index.ts";

export interface Timings {
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
}

/** What the test tells a contender when it starts it. */
export interface Settings extends Timings {
  readonly identity: string;
  /** The Lease's name (in the cluster's namespace). */
  readonly lease: string;
  /** The collector's URL (`http://127.0.0.1:PORT/events`). */
  readonly collector: string;
}

/** One report, as the collector receives it (it adds the time). */
export interface Report {
  readonly process: string;
  /** started, work_stopped, stopped, leader, error */
  readonly event: string;
  readonly leader?: string;
  /** On work_stopped: the kind of loss (stopped, renewDeadline, holder, failed), as the interop checker reads it. */
  readonly why?: string;
  readonly holder?: string;
  readonly message?: string;
}

export interface Campaign {
  readonly identity: string;
  /** Stops the elector (a leader cancels its work, reports it, then releases) and waits for `run` to end. */
  stop(): Promise<void>;
  isLeader(): boolean;
  /** Messages of the lock errors seen so far. */
  readonly errors: readonly string[];
}

/** Sends one report and waits for the collector's answer; a collector that is gone fails the report, loudly. */
const sender = (collector: string, fetcher: typeof fetch) => async (report: Report): Promise<void> => {
  const response = await fetcher(collector, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(report) });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`collector answered HTTP ${response.status} to ${report.event}`);
};

const why = (core: typeof Core, reason: unknown): Pick<Report, "why" | "holder"> => {
  if (!(reason instanceof core.LeadershipLostError)) return { why: "unknown" };
  const loss = reason.loss;
  return loss._tag === "holder" ? { why: loss._tag, holder: loss.holder } : { why: loss._tag };
};

/**
 * Starts contending for `lock` at once. `fetcher` sends the reports (default: the global fetch; a
 * Worker passes its own so that reports leave through the same network service).
 */
export const campaign = (core: typeof Core, lock: Core.Lock, settings: Settings, fetcher: typeof fetch = fetch): Campaign => {
  const report = sender(settings.collector, fetcher);
  const identity = settings.identity;
  const errors: string[] = [];
  // A report that fails is an error of the test's harness, not of the election: remember it, so
  // the test sees it, and let the election go on.
  const send = (r: Omit<Report, "process">): Promise<void> =>
    report({ process: identity, ...r }).catch((error: unknown) => void errors.push(`report ${r.event}: ${String(error)}`));
  const controller = new AbortController();
  const elector = core.createElector({
    lock,
    identity,
    leaseDuration: settings.leaseDuration,
    renewDeadline: settings.renewDeadline,
    retryPeriod: settings.retryPeriod,
    releaseOnCancel: true,
    onStartedLeading: async (signal) => {
      await send({ event: "started" });
      // The work: nothing but waiting for the signal. A real leader would act here.
      const reason = await new Promise<unknown>((resolve) => {
        if (signal.aborted) resolve(signal.reason);
        else signal.addEventListener("abort", () => resolve(signal.reason), { once: true });
      });
      await send({ event: "work_stopped", ...why(core, reason) });
    },
    onStoppedLeading: () => void send({ event: "stopped" }),
    onNewLeader: (leader) => void send({ event: "leader", leader }),
    onError: (error) => {
      errors.push(error.message);
      void send({ event: "error", message: error.message });
    },
  });
  const done = elector.run(controller.signal);
  return {
    identity,
    errors,
    isLeader: () => elector.isLeader(),
    stop: async () => {
      controller.abort();
      await done;
    },
  };
};
