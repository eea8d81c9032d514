/**
 * The edge-runtime process of the edge test: `node edge-host.js <bundle.js>` evaluates the edge
 * function (edge-function.ts, bundled by bundle.ts as a script) in Vercel's edge-runtime, a VM
 * context with web APIs only (no `process`, no `require`), and serves it on 127.0.0.1 with
 * edge-runtime's own server. Prints one JSON line, `{"url":"http://127.0.0.1:PORT"}`, once it listens.
 *
 * It is a process of its own because the edge function's `fetch` (the host's undici) trusts the test
 * cluster's CA only through NODE_EXTRA_CA_CERTS, which Node reads at start: the test sets it for
 * this process alone, so nothing else in the test trusts the CA by accident.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { EdgeRuntime, runServer } from "edge-runtime";

const file = process.argv[2];
if (file === undefined) {
  console.error("usage: edge-host.js <edge-function bundle>");
  process.exit(2);
}
const runtime = new EdgeRuntime({ initialCode: await readFile(file, "utf8") });
const server = await runServer({ runtime, host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
