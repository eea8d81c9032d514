/**
 * Node: TLS through undici's own `fetch` and `Agent` (Node's global fetch takes no CA), files
 * through `node:fs`, plugins through `node:child_process`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { Readable } from "node:stream";
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
  windows: process.platform === "win32",
  spawn: (command, args, env) => {
    const child = spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const web = (stream: Readable): ReadableStream<Uint8Array> => Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
    return {
      stdout: web(child.stdout),
      stderr: web(child.stderr),
      exited: new Promise((resolve, reject) => {
        child.once("error", reject); // could not be started (ENOENT, EACCES)
        child.once("exit", (code) => resolve(code ?? 128)); // null: killed by a signal
      }),
      kill: () => void child.kill("SIGKILL"),
    };
  },
};
