/**
 * The lease, watch and token-rotation (401) e2e tests once more with the pods' and the admin's
 * clusters on HTTP/1.1 through undici (`http2: false`), in a child `node --test`
 * (TENURE_E2E_HTTP1=1, read by support.ts): the default is HTTP/2, and undici must keep working on
 * the real cluster too. Skipped when this run is itself the HTTP/1.1 one: the whole stage already is.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import { HTTP1 } from "./support.ts";

const FILES = ["lease.test.js", "rotation.test.js"].map((f) => fileURLToPath(new URL(f, import.meta.url)));

it("lease, watch and token-rotation e2e tests pass over HTTP/1.1 (undici)", { skip: HTTP1 }, async () => {
  // Without NODE_TEST_CONTEXT, which makes a nested `node --test` skip its files.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ["--test", ...FILES], { env: { ...env, TENURE_E2E_HTTP1: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => void (output += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, `over HTTP/1.1:\n${output.split("\n").filter((l) => /not ok|Error|error:/.test(l)).join("\n")}`);
  assert.match(output, /# pass [1-9]/);
});
