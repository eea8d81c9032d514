/**
 * One workerd process serving the edge test's Worker (worker.ts, bundled by bundle.ts), as
 * `workerd serve config.capnp` with a config written for it:
 *
 * - the Worker: the bundle as an ES module, its Durable Object namespace ELECTOR of class Elector
 *   (in-memory storage: a test has nothing to keep), and text bindings (server, ServiceAccount token
 *   as a secret would be on Cloudflare, namespace), each embedded from a file;
 * - `internet`, the network service every Worker's global `fetch` goes through: `allow = ["local"]`
 *   lets it reach 127.0.0.1 (the default, `["public"]`, refuses loopback), and
 *   `tlsOptions.trustedCertificates` makes it trust the test cluster's CA (without tlsOptions a
 *   network service cannot do https at all). workerd checks an IP host against the certificate's IP
 *   SANs, and the test API server's certificate has 127.0.0.1. This is workerd's own pattern
 *   (src/workerd/api/tests/http-socket-test.wd-test: allow private + trustedCertificates);
 * - a socket on a Unix domain socket in the config's folder, so no TCP port is chosen or raced for.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { ROOT } from "../runtimes/runtimes.ts";
import { eventually } from "../support/wait.ts";

/** workerd refuses compatibility dates after its own build; this one is before the pinned 1.20261117. */
const COMPATIBILITY_DATE = "2026-11-01";

export interface WorkerdOptions {
  /** For logs. */
  readonly name: string;
  readonly bundle: string;
  readonly caPem: string;
  /** Text bindings, by name. */
  readonly texts: Readonly<Record<string, string>>;
  /**
   * "cluster" (default): the network service trusts the test CA. "public": only the public CAs that
   * browsers trust, which is all a hosted Worker's fetch trusts.
   */
  readonly trust?: "cluster" | "public";
}

export interface Workerd {
  readonly name: string;
  /** A request to the Worker: the answer's JSON (or text), or an error that says what it was and what workerd printed. */
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<any>;
  /** What workerd printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export const WORKERD: string = join(ROOT, "node_modules", ".bin", "workerd");

const config = (socket: string, options: WorkerdOptions): string => `
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "internet", network = (allow = ["local"], tlsOptions = ${options.trust === "public" ? "(trustBrowserCas = true)" : '(trustedCertificates = [embed "ca.crt"])'})),
  ],
  sockets = [(name = "http", address = ${JSON.stringify(`unix:${socket}`)}, http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = ${JSON.stringify(COMPATIBILITY_DATE)},
  bindings = [
${Object.keys(options.texts).map((name) => `    (name = ${JSON.stringify(name)}, text = embed ${JSON.stringify(`bindings/${name}`)}),
`).join("")}    (name = "ELECTOR", durableObjectNamespace = "Elector"),
  ],
  durableObjectNamespaces = [(className = "Elector", uniqueKey = "tenure-edge-elector")],
  durableObjectStorage = (inMemory = void),
);
`;

export const startWorkerd = async (options: WorkerdOptions): Promise<Workerd> => {
  const dir = await mkdtemp(join(tmpdir(), `tenure-workerd-${options.name}-`));
  const socket = join(dir, "http.sock");
  await writeFile(join(dir, "worker.js"), options.bundle);
  await writeFile(join(dir, "ca.crt"), options.caPem);
  await mkdir(join(dir, "bindings"));
  for (const [name, value] of Object.entries(options.texts)) await writeFile(join(dir, "bindings", name), value);
  await writeFile(join(dir, "config.capnp"), config(socket, options));
  let output = "";
  const child: ChildProcess = spawn(WORKERD, ["serve", "--verbose", join(dir, "config.capnp")], { cwd: dir, env: { ...process.env, PWD: dir }, stdio: ["ignore", "pipe", "pipe"] });
  const collect = (chunk: Buffer): void => void (output += chunk.toString());
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const dispatcher = new Agent({ connect: { socketPath: socket } });
  const stop = async (): Promise<void> => {
    if (!exited) child.kill("SIGTERM");
    await exit;
    await dispatcher.close();
    await rm(dir, { recursive: true, force: true });
  };
  if (!(await eventually(() => exited || existsSync(socket), 30_000)) || exited) {
    await stop();
    throw new Error(`workerd ${options.name} did not start listening within 30 s:\n${output}`);
  }
  return {
    name: options.name,
    output: () => output,
    call: async (method, path, body) => {
      const response = await undiciFetch(`http://worker${path}`, {
        method,
        dispatcher,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`workerd ${options.name}: ${method} ${path}: HTTP ${response.status}: ${text}\n${output}`);
      return response.headers.get("content-type")?.startsWith("application/json") === true ? JSON.parse(text) : text;
    },
    stop,
  };
};
