/**
 * The command's pure parts: durations, addresses, the status of a record, the metrics text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAddress, parseDuration, UsageError } from "../../cli/options.ts";
import { statusOf } from "../../cli/status.ts";
import { metricsText } from "../../cli/metrics.ts";
import { tracker } from "../../cli/tracker.ts";

test("durations are written with units, as Kubernetes and Go write them", () => {
  assert.equal(parseDuration("x", "15s"), 15_000);
  assert.equal(parseDuration("x", "500ms"), 500);
  assert.equal(parseDuration("x", "1m30s"), 90_000);
  assert.equal(parseDuration("x", "1.5s"), 1_500);
  for (const bad of ["15", "", "s", "1d", "-1s", "1s junk"]) assert.throws(() => parseDuration("grace", bad), (e: Error) => e instanceof UsageError && e.message.startsWith("--grace"), bad);
});

test("addresses: :port listens everywhere, host:port and [v6]:port where said", () => {
  assert.deepEqual(parseAddress("http", ":8080"), { host: "0.0.0.0", port: 8080 });
  assert.deepEqual(parseAddress("http", "127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
  assert.deepEqual(parseAddress("http", "[::1]:9"), { host: "::1", port: 9 });
  for (const bad of ["8080", "localhost", ":99999", "a:b"]) assert.throws(() => parseAddress("http", bad), UsageError, bad);
});

test("status: expired is judged by renewTime + leaseDuration on this clock; a blank holder is expired", () => {
  const record = { holderIdentity: "a", leaseDurationSeconds: 15, acquireTime: "2026-12-02T03:00:00.000000Z", renewTime: "2026-12-02T03:00:10.000000Z", leaseTransitions: 4, strategy: "", preferredHolder: "" };
  const at = (s: string): number => Date.parse(`2026-12-02T03:00:${s}Z`);
  assert.equal(statusOf("ns", "l", record, at("20")).expired, false);
  assert.equal(statusOf("ns", "l", record, at("20")).renewAgeSeconds, 10);
  assert.equal(statusOf("ns", "l", record, at("26")).expired, true);
  assert.equal(statusOf("ns", "l", { ...record, holderIdentity: "" }, at("11")).expired, true);
});

test("metrics: label values are escaped; before any elector, client-go's gauges say 0", () => {
  const text = metricsText(tracker("a\"b\\c", "ns", "me\n", true));
  assert.match(text, /^leader_election_master_status\{name="a\\"b\\\\c"\} 0$/m);
  assert.match(text, /^leader_election_slowpath_total\{name="a\\"b\\\\c"\} 0$/m);
  assert.match(text, /identity="me\\n"/);
  assert.match(text, /^tenure_child_running\{name="a\\"b\\\\c"\} 0$/m);
  assert.ok(text.endsWith("\n"));
});
