/**
 * Leadership Events, tenure against client-go v0.37 in the same run: a client-go peer (with an
 * EventRecorder, as kube-controller-manager has) leads, hands over to a tenure peer (leaseLock with
 * `events`) by a release, which then stops in turn. Both write `<identity> became leader` and
 * `<identity> stopped leading` on the same Lease; read back as `kubectl get events` lists them,
 * every field of tenure's matches client-go's but the names that differ by nature (identity,
 * component, event name, times, the object's resourceVersion at the time).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { ELECTION_RULES, kube, sandbox } from "../e2e/support.ts";
import type { Timings } from "./checker.ts";
import { Fleet, goPeers } from "./fleet.ts";

const TIMINGS: Timings = { leaseDuration: 3_000, renewDeadline: 2_000, retryPeriod: 500 };
const LEASE = "events";
/** The README's Role plus what events need: create and patch in the core group (events.k8s.io is not enough). */
const RULES: readonly object[] = [...ELECTION_RULES, { apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }];

interface Event {
  metadata: { name: string; namespace: string };
  involvedObject: Record<string, string>;
  source: { component?: string; host?: string };
  message: string;
  [field: string]: unknown;
}

/** The fields that must agree between the two implementations' events for the same transition. */
const comparable = (e: Event): unknown => {
  const { resourceVersion: _rv, ...object } = e.involvedObject;
  const { metadata: _m, message: _msg, source: _s, firstTimestamp: _f, lastTimestamp: _l, reportingComponent: _rc, involvedObject: _o, ...rest } = e;
  return { object, ...rest, sameTimestamps: e.firstTimestamp === e.lastTimestamp };
};

it("tenure's leadership Events carry client-go v0.37's fields, for the same transitions on the same Lease", { timeout: 90_000 }, async () => {
  const [box, peers] = await Promise.all([sandbox("interop-events", RULES), goPeers(["v0.37"])]);
  const fleet = new Fleet({ kube, namespace: box.namespace, tokenFile: box.tokenFile, name: LEASE, timings: TIMINGS, goPeers: peers });
  await fleet.judge(async () => {
    const go = fleet.spawn({ impl: "v0.37", identity: "go-a", flags: ["--event-component=peer-client-go"] });
    await fleet.until(() => go.leading, 15_000, "go-a to lead");
    const tenure = fleet.spawn({ impl: "tenure", identity: "tenure-a", flags: ["--event-component=peer-tenure"] });
    await fleet.sees(tenure, "go-a");
    await fleet.stop(go, "SIGTERM");
    await fleet.until(() => tenure.leading, 10_000, "tenure-a to lead after go-a's release");
    await fleet.stop(tenure, "SIGTERM");
  });

  const list = await kube.request("GET", `/api/v1/namespaces/${box.namespace}/events`);
  assert.equal(list.status, 200, list.text);
  const events = (list.json.items as Event[]).filter((e) => e.reason === "LeaderElection");
  const lease = (await kube.request("GET", `/apis/coordination.k8s.io/v1/namespaces/${box.namespace}/leases/${LEASE}`)).json;
  const by = (message: string): Event => {
    const found = events.filter((e) => e.message === message);
    assert.equal(found.length, 1, `one event "${message}"; all: ${events.map((e) => e.message).join(", ")}`);
    return found[0] as Event;
  };
  for (const what of ["became leader", "stopped leading"]) {
    const theirs = by(`go-a ${what}`);
    const ours = by(`tenure-a ${what}`);
    console.log(`client-go: ${JSON.stringify(theirs)}\ntenure:    ${JSON.stringify(ours)}`);
    assert.deepEqual(comparable(ours), comparable(theirs), `"${what}": tenure's event has client-go's fields`);
    assert.equal(ours.source.component, "peer-tenure");
    assert.equal(theirs.source.component, "peer-client-go");
    assert.equal(ours.reportingComponent, "peer-tenure");
    for (const e of [ours, theirs]) {
      assert.match(e.metadata.name, new RegExp(`^${LEASE}\\.[0-9a-f]+$`), "named <object>.<hex UnixNano>");
      assert.equal(e.metadata.namespace, box.namespace);
      assert.equal(e.involvedObject["uid"], lease.metadata.uid, "the involved object is the Lease, with its uid");
      assert.match(e.involvedObject["resourceVersion"] ?? "", /^\d+$/, "and a resourceVersion");
      assert.match(String(e.firstTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  }
  // "stopped leading" is recorded on the Lease as its release left it, in both.
  for (const who of ["go-a", "tenure-a"]) {
    const became = Number(by(`${who} became leader`).involvedObject["resourceVersion"]);
    const stopped = Number(by(`${who} stopped leading`).involvedObject["resourceVersion"]);
    assert.ok(stopped > became, `${who}: the stopped-leading event names a later version of the Lease`);
  }
});
