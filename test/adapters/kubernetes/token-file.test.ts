/** Rotating service-account tokens: re-read at least every minute, and at once after a 401. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLockError } from "../../../src/lock.ts";
import { fileTokenCredentials } from "../../../adapters/kubernetes/token-file.ts";

const fixture = () => {
  let now = 0;
  let token = "t1";
  let failing = false;
  const reads: number[] = [];
  const credentials = fileTokenCredentials("/sa/token", async () => {
    reads.push(now);
    if (failing) throw new Error("ENOENT");
    return `${token}\n`;
  }, 60_000, () => now);
  return {
    credentials,
    reads,
    at: (ms: number) => void (now = ms),
    rotate: (next: string) => void (token = next),
    fail: (value: boolean) => void (failing = value),
  };
};

describe("fileTokenCredentials", () => {
  it("reads the file once, then again only after a minute", async () => {
    const f = fixture();
    assert.equal(await f.credentials.authorization(), "Bearer t1");
    f.rotate("t2");
    f.at(59_999);
    assert.equal(await f.credentials.authorization(), "Bearer t1");
    f.at(60_000);
    assert.equal(await f.credentials.authorization(), "Bearer t2");
    assert.deepEqual(f.reads, [0, 60_000]);
  });

  it("re-reads at once after a 401 (refresh)", async () => {
    const f = fixture();
    await f.credentials.authorization();
    f.rotate("t2");
    f.at(10);
    await f.credentials.refresh();
    assert.equal(await f.credentials.authorization(), "Bearer t2");
    assert.deepEqual(f.reads, [0, 10]);
  });

  it("concurrent requests share one read", async () => {
    const f = fixture();
    const all = await Promise.all([1, 2, 3].map(() => f.credentials.authorization()));
    assert.deepEqual(all, ["Bearer t1", "Bearer t1", "Bearer t1"]);
    assert.equal(f.reads.length, 1);
  });

  it("keeps the token it has when a re-read fails mid-rotation", async () => {
    const f = fixture();
    await f.credentials.authorization();
    f.fail(true);
    f.at(70_000);
    assert.equal(await f.credentials.authorization(), "Bearer t1");
  });

  it("without any token, fails with Unauthorized naming the file", async () => {
    const f = fixture();
    f.fail(true);
    await assert.rejects(f.credentials.authorization(), (error: unknown) =>
      isLockError(error) && error.reason === "Unauthorized" && /cannot read the service-account token at \/sa\/token/.test(error.message));
  });
});
