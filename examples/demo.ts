/**
 * `npm start`: three pods elect a leader on one in-memory Lease, in real time. We stop the leader
 * (it hands over at once), freeze the next one (the others must wait for its Lease to expire),
 * then restart it. On a terminal the timeline is redrawn live; piped (CI), the same story is
 * printed as plain log lines, with the timeline once at the end.
 *
 * The electors are what you would run in a cluster: only the lock differs (see README.md).
 */
import { createElector, type Elector, LeadershipLostError, type Term } from "../src/index.ts";
import { MemoryLeaseStore, type MemoryLock, memoryLock } from "../adapters/memory.ts";
import { hideCursor, live, paint, print, quit, redraw, setExitCode, size } from "./demo/terminal.ts";
import { type Entry, formatEntry, Timeline, type Tone } from "./demo/timeline.ts";

// Short timings so the story takes a quarter of a minute. They pass client-go's checks
// (leaseDuration > renewDeadline > 1.2 * retryPeriod) and ours (leaseDuration in whole seconds).
const TIMINGS = { leaseDuration: 2_000, renewDeadline: 1_500, retryPeriod: 500 } as const;
const LEASE = { namespace: "default", name: "demo" } as const;
const PODS = ["pod-a", "pod-b", "pod-c"];
/** When each scene begins, in ms since the start. */
const AT = { handover: 3_000, crash: 6_000, restart: 10_000, end: 14_000 } as const;
const CELL = 200; // ms per timeline column: 14 s in 70 columns
const FRAME = 100; // ms between redraws on a terminal

const t0 = performance.now();
const since = (mono: number = performance.now()): number => mono - t0;
const store = new MemoryLeaseStore();
const timeline = new Timeline(PODS, CELL, AT.end);
const pods: Pod[] = [];
const leaders: { readonly id: string; readonly term: number }[] = [];
const problems: string[] = [];
let caption = "";
/** The failover under way: measured up to the next onStartedLeading. */
type Failover =
  | { readonly kind: "handover"; readonly from: string; readonly at: number }
  | { readonly kind: "crash"; readonly from: string; readonly at: number; readonly lastRenew: number };
let failover: Failover | undefined;
const measured: { handover?: number; crash?: { readonly afterCrash: number; readonly afterRenew: number } } = {};

/** One replica: an elector with its own lock on the shared store, as its own process would have. */
class Pod {
  readonly id: string;
  readonly lock: MemoryLock;
  readonly controller: AbortController = new AbortController();
  readonly elector: Elector;
  readonly done: Promise<void>;
  /** Set while its work runs as leader, from onStartedLeading until its signal aborts. */
  term: Term | undefined;
  frozen = false;

  constructor(id: string) {
    this.id = id;
    this.lock = memoryLock(store, { ...LEASE, client: id });
    this.elector = createElector({
      lock: this.lock,
      identity: id,
      ...TIMINGS,
      releaseOnCancel: true,
      onStartedLeading: (signal, term) => lead(this, signal, term),
      onStoppedLeading: () => {},
      onNewLeader: (holder) => sawLeader(this, holder),
      onError: (error) => {
        if (!this.frozen) note(id, `request failed: ${error.message}`, "quiet");
      },
    });
    timeline.set(id, "follower", since());
    this.done = this.elector.run(this.controller.signal).catch((error: unknown) => void problems.push(`${id}: ${String(error)}`));
  }
}

// -------------------------------------------------------------------------------------
// what the pods tell us
// -------------------------------------------------------------------------------------

const lead = (pod: Pod, signal: AbortSignal, term: Term): Promise<void> => {
  const now = performance.now();
  const other = pods.find((p) => p !== pod && p.term !== undefined);
  if (other !== undefined) problems.push(`${pod.id} started leading while ${other.id} still was`);
  pod.term = term;
  leaders.push({ id: pod.id, term: term.transitions });
  timeline.set(pod.id, "leader", since(now));
  note(pod.id, `★ leads · fencing term ${term.transitions} (leaseTransitions)`, "leader", now);
  if (failover !== undefined) measure(failover, pod, now);
  failover = undefined;
  // The leader's work: here, nothing but waiting until leadership may be lost.
  return new Promise((resolve) => {
    const stop = (): void => (stepDown(pod, signal.reason), resolve());
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
};

const measure = (from: Failover, pod: Pod, now: number): void => {
  const took = now - from.at;
  if (from.kind === "handover") {
    measured.handover = took;
    note("", `↳ handover took ${ms(took)}: ${pod.id} saw the release by watch`, "result", now);
    return;
  }
  const afterRenew = now - from.lastRenew;
  measured.crash = { afterCrash: took, afterRenew };
  const late = afterRenew - TIMINGS.leaseDuration;
  note("", `↳ crash → new leader: ${ms(took)}`, "result", now);
  note("", `↳ last renew → new leader: ${ms(afterRenew)} = leaseDuration ${late < 0 ? "-" : "+"} ${ms(Math.abs(late))}`, "result", now);
  // Followers judge expiry by their own clock from when they saw the last renew: never earlier.
  if (late < -1) problems.push(`${pod.id} took over ${ms(-late)} before the Lease expired`);
};

const stepDown = (pod: Pod, reason: unknown): void => {
  pod.term = undefined;
  if (pod.frozen) {
    note(pod.id, `stops leading at renewDeadline (${TIMINGS.renewDeadline} ms): before expiry`, "quiet");
    return;
  }
  timeline.set(pod.id, "stopped", since());
  const stopped = reason instanceof LeadershipLostError && reason.loss._tag === "stopped";
  note(pod.id, stopped ? "stops leading and releases the Lease (releaseOnCancel)" : `stops leading: ${String(reason)}`);
};

const sawLeader = (pod: Pod, holder: string): void => {
  if (holder === pod.id || pod.frozen) return; // its own win is told by `lead`
  if (holder !== "") return note(pod.id, `follows ${holder}`, "quiet");
  // Only the pod that blanked the Lease reports it; followers go straight for the free Lease.
  if (timeline.state(pod.id) === "stopped") note(pod.id, `released: holderIdentity is now ""`);
};

// -------------------------------------------------------------------------------------
// the story
// -------------------------------------------------------------------------------------

const note = (who: string, text: string, tone: Tone = "plain", at: number = performance.now()): void => {
  const entry = timeline.log({ at: since(at), who, text, tone });
  if (!live) print(format(entry));
};

const format = (entry: Entry): string => formatEntry(entry, paint, Math.max(...PODS.map((id) => id.length)));

const scene = (label: string, text: string): void => {
  caption = text;
  timeline.scene(label, since());
  note("", text, "scene");
};

const sleepUntil = async (at: number): Promise<void> => {
  // Timers may fire a fraction of a millisecond early by performance.now(): wait until it says so.
  while (since() < at) await new Promise((resolve) => setTimeout(resolve, Math.max(1, at - since())));
};

const start = (id: string): Pod => {
  const pod = new Pod(id);
  pods.push(pod);
  return pod;
};

/** The pod whose work runs as leader now, if any. */
const leader = (): Pod | undefined => pods.find((pod) => pod.term !== undefined);

const main = async (): Promise<void> => {
  scene("1 start", `Scene 1/4 · start: 3 pods campaign for Lease ${LEASE.namespace}/${LEASE.name}`);
  for (const id of PODS) start(id);

  await sleepUntil(AT.handover);
  const first = leader();
  if (first === undefined) return void problems.push("nobody was elected");
  scene("2 handover", `Scene 2/4 · handover: the leader ${first.id} is stopped gracefully`);
  failover = { kind: "handover", from: first.id, at: performance.now() };
  first.controller.abort();

  await sleepUntil(AT.crash);
  const second = leader();
  if (second === undefined || measured.handover === undefined) return void problems.push("nobody took over from the stopped leader");
  scene("3 crash", `Scene 3/4 · crash: ${second.id} freezes, the others wait for expiry`);
  crash(second);

  await sleepUntil(AT.restart);
  if (measured.crash === undefined) problems.push("nobody took over from the frozen leader");
  // Long after the takeover: the frozen process is killed for good (its elector gave up already).
  second.controller.abort();
  await second.done;
  scene("4 restart", `Scene 4/4 · restart: ${second.id} comes back as a new elector`);
  start(second.id);

  await sleepUntil(AT.end);
  caption = "The end: every pod is stopped";
  note("", caption, "scene");
  // Followers first, so that nobody takes the Lease the leader releases.
  const running = pods.filter((pod) => !pod.frozen && timeline.state(pod.id) !== "stopped");
  for (const pod of running.sort((a, b) => Number(a.term !== undefined) - Number(b.term !== undefined))) pod.controller.abort();
  await Promise.all(pods.map((pod) => pod.done));
  for (const pod of running) timeline.set(pod.id, "stopped", since());
};

/** A crash as others see it: no renew, no release. Every request of its lock hangs from now on. */
const crash = (pod: Pod): void => {
  const now = performance.now();
  const lastRenew = now - (pod.elector.metrics().sinceLastWrite ?? 0);
  pod.frozen = true;
  pod.lock.inject({ hang: true });
  timeline.set(pod.id, "crashed", since(now));
  failover = { kind: "crash", from: pod.id, at: now, lastRenew };
  note(pod.id, `✗ freezes: no renew, no release (last renew ${ms(now - lastRenew)} ago)`, "crash", now);
};

// -------------------------------------------------------------------------------------
// drawing
// -------------------------------------------------------------------------------------

const ms = (value: number): string => `${value < 100 ? value.toFixed(1) : Math.round(value)} ms`;

const header = (): string[] => [
  `${paint.bold("tenure")} · Kubernetes leader election: 3 pods, 1 in-memory Lease, real time`,
  paint.dim(`leaseDuration ${TIMINGS.leaseDuration} ms · renewDeadline ${TIMINGS.renewDeadline} ms · retryPeriod ${TIMINGS.retryPeriod} ms`),
  "",
];

const status = (id: string): string => {
  const term = pods.findLast((pod) => pod.id === id)?.term;
  switch (timeline.state(id)) {
    case "leader":
      return paint.green(`leader · term ${term?.transitions ?? "?"}`);
    case "follower":
      return paint.dim("follower");
    case "crashed":
      return paint.red("frozen");
    case "stopped":
      return paint.dim("stopped");
    default:
      return "";
  }
};

/** The live screen: header, current scene, chart, and as many recent events as fit. */
const frame = (final: boolean): string[] => {
  const { columns, rows } = size();
  const wide = columns === undefined || columns >= 100;
  const top = [...header(), `${paint.bold(paint.cyan("▶"))} ${paint.bold(caption)}`, ""];
  const chart = timeline.chart(since(), paint, wide && !final ? status : undefined);
  const events = timeline.entries.map(format);
  const room = final || rows === undefined ? events.length : Math.max(3, rows - top.length - chart.length - 2);
  const shown = events.length <= room ? events : [paint.dim(`  … ${events.length - room + 1} earlier`), ...events.slice(-(room - 1))];
  return [...top, ...chart, "", ...shown];
};

const summary = (elapsed: number): string[] => {
  const { handover, crash: takeover } = measured;
  const checks = problems.length === 0
    ? [`  safety             ${paint.green("✓")} one leader at a time, no early takeover`]
    : problems.map((problem) => `  ${paint.red(`✗ ${problem}`)}`);
  return [
    paint.bold("Summary"),
    `  leaders            ${leaders.map(({ id, term }) => `${id} (term ${term})`).join(" → ")}`,
    `  graceful handover  ${handover === undefined ? "-" : `${ms(handover)} from the stop to the new leader`}`,
    `  crash takeover     ${takeover === undefined ? "-" : `${ms(takeover.afterCrash)} from the crash, ${ms(takeover.afterRenew)} after the last renew`}`,
    `                     ${paint.dim(`(never before leaseDuration ${TIMINGS.leaseDuration} ms after the last renew)`)}`,
    ...checks,
    `  ran for            ${(elapsed / 1000).toFixed(1)} s`,
    "",
    "In a real cluster, use a Lease lock from tenure/kubernetes: see README.md.",
  ];
};

// -------------------------------------------------------------------------------------
// run
// -------------------------------------------------------------------------------------

const showCursor = hideCursor();
const ticker = live ? setInterval(() => redraw(frame(false)), FRAME) : undefined;
// Should an elector never finish, do not hang a CI job.
const watchdog = setTimeout(() => {
  showCursor();
  print(paint.red("✗ the demo did not finish within 30 s"));
  quit(1);
}, 30_000);
if (!live) for (const line of header()) print(line);
try {
  await main();
} catch (error) {
  problems.push(`the demo failed: ${String(error)}`);
} finally {
  clearInterval(ticker);
  clearTimeout(watchdog);
}
if (live) {
  redraw(frame(true), true);
  showCursor();
} else {
  print();
  for (const line of timeline.chart(since(), paint)) print(line);
}
print();
for (const line of summary(since())) print(line);
if (problems.length > 0) setExitCode(1);
