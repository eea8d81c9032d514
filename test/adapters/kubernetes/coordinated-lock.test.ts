/**
 * coordinatedLeaseLock's options: the candidate's versions are checked as the API server checks a
 * LeaseCandidate, at construction, with messages that say what to write instead. (The lock itself
 * runs against the real API server: test/e2e/coordinated.test.ts.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cluster, coordinatedLeaseLock, type CoordinatedLeaseLockOptions } from "../../../adapters/kubernetes/index.ts";
import { pinged } from "../../../adapters/kubernetes/lease-candidate.ts";

const kube = cluster({ server: "https://kube.test", namespace: "ns", fetch: () => Promise.reject(new Error("no network in this test")) });
const make = (options: Partial<CoordinatedLeaseLockOptions>) => () => coordinatedLeaseLock(kube, { name: "l", binaryVersion: "1.31.0", ...options });

describe("coordinatedLeaseLock", () => {
  it("takes semver versions, an emulation version no newer than the binary, and a known or qualified strategy", () => {
    assert.equal(typeof make({})().candidacy, "function");
    make({ emulationVersion: "1.30.0", strategy: "example.com/mine" })();
    make({ binaryVersion: "1.31.0-rc.1", emulationVersion: "1.30.0" })();
    assert.throws(make({ binaryVersion: "v1.31.0" }), /coordinatedLeaseLock: binaryVersion must be a semantic version without "v", such as 1.4.2 \(the API server rejects anything else\): got "v1.31.0"/);
    assert.throws(make({ binaryVersion: "1.31" }), /binaryVersion must be a semantic version/);
    assert.throws(make({ emulationVersion: "1.32.0" }), /emulationVersion must not be newer than binaryVersion: 1.32.0 > 1.31.0/);
    assert.throws(make({ binaryVersion: "1.31.0-alpha", emulationVersion: "1.31.0" }), /must not be newer/);
    assert.throws(make({ strategy: "Newest" }), /strategy must be "OldestEmulationVersion" or a third-party "<domain>\/<name>": got "Newest"/);
  });

  it("a candidate is pinged when pingTime is newer than renewTime, to the microsecond", () => {
    assert.equal(pinged({ renewTime: "2026-01-01T00:00:00.000001Z" }), false);
    assert.equal(pinged({ pingTime: "2026-01-01T00:00:00.000002Z", renewTime: "2026-01-01T00:00:00.000001Z" }), true);
    assert.equal(pinged({ pingTime: "2026-01-01T00:00:00.000001Z", renewTime: "2026-01-01T00:00:00.000001Z" }), false);
    assert.equal(pinged({ pingTime: "2026-01-01T00:00:01.000000Z", renewTime: "2026-01-01T00:00:00.999999Z" }), true);
    assert.equal(pinged({ pingTime: "2026-01-01T00:00:01.000000Z", renewTime: null }), true);
  });
});
