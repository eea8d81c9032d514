/**
 * One edge-runtime process (edge-host.ts) serving the edge function bundle, for the edge test.
 * `ca`: a PEM file for NODE_EXTRA_CA_CERTS, the only way edge-runtime's fetch trusts another CA;
 * without it, it trusts the public CAs only, as on Vercel.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface EdgeRuntimeHost {
  /** A request to the edge function: the answer's JSON, or an error that says what it was. */
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<any>;
  stop(): Promise<void>;
}

export const startEdgeRuntime = async (options: { bundle: string; caPem?: string }): Promise<EdgeRuntimeHost> => {
  const dir = await mkdtemp(join(tmpdir(), "tenure-edge-runtime-"));
  const bundle = join(dir, "edge-function.js");
  await writeFile(bundle, options.bundle);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["NODE_EXTRA_CA_CERTS"];
  if (options.caPem !== undefined) {
    env["NODE_EXTRA_CA_CERTS"] = join(dir, "ca.crt");
    await writeFile(env["NODE_EXTRA_CA_CERTS"], options.caPem);
  }
  const child = spawn(process.execPath, [join(import.meta.dirname, "edge-host.js"), bundle], { stdio: ["ignore", "pipe", "inherit"], env });
  const exit = once(child, "exit");
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exit;
    await rm(dir, { recursive: true, force: true });
  };
  let url: string;
  try {
    const [line] = (await Promise.race([
      once(createInterface({ input: child.stdout }), "line"),
      exit.then(([code]) => Promise.reject(new Error(`edge-host exited with ${String(code)} before listening`))),
    ])) as [string];
    url = (JSON.parse(line) as { url: string }).url;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    call: async (method, path, body) => {
      const response = await fetch(new URL(path, url), { method, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }) });
      const text = await response.text();
      if (!response.ok) throw new Error(`edge-runtime: ${method} ${path}: HTTP ${response.status}: ${text}`);
      return JSON.parse(text);
    },
    stop,
  };
};
