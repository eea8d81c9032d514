/**
 * tenure electors in this process as fleet members (bench/cluster.ts): each with its own connection
 * pool and counting fetch (contender.ts); a crash cuts its network, so it neither releases nor renews.
 */
import { contend, type Contender } from "./contender.ts";
import type { Electors, Member } from "./fleet.ts";
import { readLease, type Sandbox, sleep, type TestCluster } from "./kube.ts";

const member = (c: Contender): Member => ({
  id: c.id,
  get leading() {
    return c.elector.isLeader();
  },
  get leaderSeen() {
    return c.elector.leader();
  },
  get started() {
    const started = c.started;
    return started === undefined ? undefined : { at: started.perf, wall: started.wall };
  },
  get steppedDown() {
    return c.steppedDown;
  },
  sent: c.sent,
  errors: c.errors,
  stop: () => c.controller.abort(),
  crash: async () => {
    c.cut();
    await sleep(300); // a renew already on the wire lands; none after it
  },
  retire: async () => {
    c.controller.abort();
    await c.done;
  },
  describe: () => `${c.id}: leading ${c.elector.isLeader()}, sees ${c.elector.leader() ?? "-"}, last error ${c.errors.at(-1)?.text ?? "-"}`,
});

/** In-process electors as the sandbox's ServiceAccount, identities `elector-<n>`. */
export const inProcessElectors = (kube: TestCluster, box: Sandbox): Electors => ({
  label: "elector",
  settleLimitMs: 30_000,
  spawn: async (lease, id, timings, releaseOnCancel) => member(contend(kube, box, lease, id, timings, releaseOnCancel)),
  readLease: (lease) => readLease(kube, box.namespace, lease),
});
