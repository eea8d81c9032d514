/**
 * Node: TLS through undici's own `fetch` and `Agent` (Node's global fetch takes no CA), files
 * through `node:fs`, plugins through `node:child_process`.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Agent, fetch as undiciFetch } from "undici";
import type { Fetch } from "../kubernetes/cluster.ts";
import type { Runtime } from "./runtime.ts";

export const runtime: Runtime = {
  name: "node",
  tlsFetch: (tls) => {
    // undici's fetch paired with undici's Agent: mixing with Node's bundled undici breaks across versions.
    const dispatcher = new Agent({
      connect: {
        ...(tls.ca === undefined ? {} : { ca: tls.ca }),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        rejectUnauthorized: tls.insecureSkipTlsVerify !== true,
      },
    });
    return ((url, init) => undiciFetch(url, { ...init, dispatcher } as never)) as Fetch;
  },
  readFile: (path) => readFile(path, "utf8"),
  env: (name) => process.env[name],
  exec: (command, args, env) =>
    new Promise((resolve) => {
      execFile(command, [...args], { env: { ...process.env, ...env }, timeout: 60_000, maxBuffer: 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : 127;
        resolve({ code, stdout: String(stdout), stderr: error !== null && stderr === "" ? error.message : String(stderr) });
      });
    }),
};
