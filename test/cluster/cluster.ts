/**
 * Starts a real etcd + kube-apiserver on loopback for end-to-end tests, with its own CAs, an admin
 * token and RBAC, in a fresh temp dir. The binaries come from `build.sh` (built once, then cached).
 *
 * The servers die with this process: `stop()`, SIGINT/SIGTERM and the `exit` event all kill them,
 * and a tiny shell watchdog kills them if this process dies without running any handler.
 *
 * @module
 */

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { clusterClient, clusterInfo, type ClusterInfo, type TestCluster } from "./client.ts";
import { issueCert, makeCa, makeEcKey } from "./pki.ts";

export type { ApiResponse, ClusterInfo, IssuedCert, TestCluster, TokenOptions } from "./client.ts";

/** The servers of a cluster this process started, which it can stop and start again (chaos tests). */
export type ServerName = "etcd" | "kube-apiserver";

/** A cluster started by this process: besides the {@link TestCluster}, control over its servers. */
export interface ControlledCluster extends TestCluster {
  /**
   * Stops one server with `signal` (default SIGKILL) and waits until it has exited. The other keeps
   * running; nothing is said about the exit, which was asked for.
   */
  killServer(name: ServerName, signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts a stopped server again with the same flags, ports and data, and waits until it is
   * healthy (etcd) or ready (kube-apiserver: /readyz ok), at most `readyTimeoutMs` (default 120 s).
   */
  restartServer(name: ServerName, readyTimeoutMs?: number): Promise<void>;
}

export interface StartOptions {
  /** Extra kube-apiserver flags, e.g. `--feature-gates=CoordinatedLeaderElection=true`. */
  apiserverArgs?: string[];
  /** Stop all clusters and exit on SIGINT/SIGTERM (default true). Turn off to handle signals yourself. */
  handleSignals?: boolean;
  /** How long the apiserver may take to become ready (default 120 000 ms). */
  readyTimeoutMs?: number;
}

interface Proc {
  name: string;
  log: string;
  child: ChildProcess;
  done: boolean;
  error?: Error;
  exited: Promise<void>;
}

interface Running {
  procs: Proc[];
  watchdog: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

/** The name the SNI listener answers to; it resolves nowhere. */
const SNI_NAME = "kubernetes.tenure.test";

const running = new Set<Running>();
const keep = (): boolean => process.env["TENURE_KEEP_CLUSTER"] === "1";
const say = (message: string): void => void process.stderr.write(`[cluster] ${message}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startCluster(options: StartOptions = {}): Promise<ControlledCluster> {
  const binDir = await buildBinaries();
  const dir = await mkdtemp(join(tmpdir(), "tenure-cluster-"));
  hookExit();
  if (options.handleSignals !== false) hookSignals();

  const procs: Proc[] = [];
  const watchdog = startWatchdog(dir);
  let stopping: Promise<void> | undefined;
  let ready = false;
  /** Servers stopped on purpose (killServer): their exit is no news. */
  const killed = new Set<Proc>();
  const entry: Running = {
    procs,
    watchdog,
    dir,
    stop: () =>
      (stopping ??= (async () => {
        // apiserver first, so it never runs against a dead etcd.
        for (const p of [...procs].reverse()) await terminate(p);
        watchdog.kill("SIGKILL");
        watchdog.stdin?.destroy();
        running.delete(entry);
        if (keep()) say(`kept ${dir} (TENURE_KEEP_CLUSTER=1)`);
        else await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      })()),
  };
  running.add(entry);
  const commands = new Map<string, { file: string; args: string[]; log: string }>();
  const start = (name: string, file: string, args: string[], log: string): Proc => {
    commands.set(name, { file, args, log });
    const p = launch(name, file, args, log);
    // A restarted server takes its predecessor's place, so stop() keeps the order (apiserver first).
    const old = procs.findIndex((q) => q.name === name);
    if (old === -1) procs.push(p);
    else procs[old] = p;
    if (p.child.pid !== undefined) watchdog.stdin?.write(`${p.child.pid}\n`);
    void p.exited.then(() => {
      if (stopping === undefined && ready && !killed.has(p)) say(`${name} exited unexpectedly (${exitReason(p)}); log: ${log}`);
    });
    return p;
  };

  try {
    const pki = join(dir, "pki");
    await mkdir(pki);
    const adminToken = `admin-token-${randomBytes(16).toString("hex")}`;
    const [ca, clientCa, saKey, [etcdPort, peerPort, apiPort]] = await Promise.all([
      makeCa(pki, "ca", "tenure test CA"),
      makeCa(pki, "client-ca", "tenure test client CA"),
      makeEcKey(join(pki, "sa.key")),
      freePorts(),
    ]);
    const serving = await issueCert({
      ca,
      base: join(pki, "serving"),
      commonName: "127.0.0.1",
      usage: "serverAuth",
      subjectAltName: "IP:127.0.0.1,DNS:localhost",
    });
    // A second listener by name (SNI), with its own CA, as a Teleport-style proxy serves: for tls-server-name.
    const sniCa = await makeCa(pki, "sni-ca", "tenure test SNI CA");
    const sni = await issueCert({ ca: sniCa, base: join(pki, "sni"), commonName: SNI_NAME, usage: "serverAuth", subjectAltName: `DNS:${SNI_NAME}` });
    const tokens = join(pki, "tokens.csv");
    await writeFile(tokens, `${adminToken},admin,admin-uid,"system:masters"\n`, { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const info: ClusterInfo = {
      server: `https://127.0.0.1:${apiPort}`,
      caFile: ca.certFile,
      caPem: await readFile(ca.certFile, "utf8"),
      adminToken,
      adminTokenFile: join(dir, "admin.token"),
      kubeconfig: join(dir, "kubeconfig.yaml"),
      dir,
      binDir,
      etcdServer: etcdUrl,
      apiserverLog: join(dir, "kube-apiserver.log"),
      etcdLog: join(dir, "etcd.log"),
      clientCaFile: clientCa.certFile,
      clientCaKeyFile: clientCa.keyFile,
      sni: { name: SNI_NAME, caPem: await readFile(sniCa.certFile, "utf8") },
    };
    await writeFile(info.adminTokenFile, adminToken, { mode: 0o600 });
    await writeFile(info.kubeconfig, kubeconfigYaml(info), { mode: 0o600 });

    const etcd = start("etcd", join(binDir, "etcd"), [
      "--name", "tenure", "--data-dir", join(dir, "etcd"),
      "--listen-client-urls", etcdUrl, "--advertise-client-urls", etcdUrl,
      "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", `tenure=${peerUrl}`,
      "--unsafe-no-fsync", "--log-level", "warn",
    ], info.etcdLog);
    const etcdHealthy = async (): Promise<true | string> => {
      const res = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      const body = await res.text();
      return (res.ok && (JSON.parse(body) as { health?: string }).health === "true") || `/health: ${body}`;
    };
    await waitUntil(etcd, Date.now() + 60_000, "etcd healthy", etcdHealthy);

    const apiserver = start("kube-apiserver", join(binDir, "kube-apiserver"), [
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${apiPort}`,
      // A loopback address can't go into the `kubernetes` Endpoints; nothing here needs them.
      "--endpoint-reconciler-type=none",
      `--cert-dir=${pki}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--tls-sni-cert-key=${sni.certFile},${sni.keyFile}:${SNI_NAME}`,
      `--client-ca-file=${clientCa.certFile}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${saKey}`,
      `--service-account-signing-key-file=${saKey}`,
      "--authorization-mode=RBAC",
      `--token-auth-file=${tokens}`,
      ...(options.apiserverArgs ?? []),
    ], info.apiserverLog);

    const client = await clusterClient(info);
    const timeout = options.readyTimeoutMs ?? 120_000;
    // /readyz alone can say ok a moment before the bootstrap namespaces exist.
    await waitUntil(apiserver, Date.now() + timeout, `ready (/readyz ok and namespace "default" present) within ${timeout / 1000} s`, async () => {
      const signal = AbortSignal.timeout(5000);
      const readyz = await (await client.fetch("/readyz", { signal })).text();
      if (readyz !== "ok") return readyz.split("\n").filter((line) => line.startsWith("[-]")).join(", ") || readyz.slice(0, 200);
      const ns = await client.fetch("/api/v1/namespaces/default", { headers: { authorization: `Bearer ${adminToken}` }, signal });
      await ns.arrayBuffer();
      return ns.status === 200 || `GET namespace default: HTTP ${ns.status}`;
    });

    const infoFile = join(dir, "cluster.json");
    await writeFile(infoFile, JSON.stringify(clusterInfo(info), null, 2) + "\n", { mode: 0o600 });
    ready = true;
    const find = (name: ServerName): Proc => {
      const p = procs.find((q) => q.name === name);
      if (p === undefined) throw new Error(`no server named ${name}`);
      return p;
    };
    const killServer = async (name: ServerName, signal: NodeJS.Signals = "SIGKILL"): Promise<void> => {
      const p = find(name);
      if (p.done) return;
      killed.add(p);
      p.child.kill(signal);
      await p.exited;
    };
    const restartServer = async (name: ServerName, readyTimeoutMs = 120_000): Promise<void> => {
      if (stopping !== undefined) throw new Error("the cluster is stopping");
      const old = find(name);
      if (!old.done) throw new Error(`${name} is still running: killServer first`);
      const command = commands.get(name) as { file: string; args: string[]; log: string };
      const p = start(name, command.file, command.args, command.log);
      const deadline = Date.now() + readyTimeoutMs;
      if (name === "etcd") await waitUntil(p, deadline, "etcd healthy again", etcdHealthy);
      else {
        await waitUntil(p, deadline, "ready again (/readyz ok)", async () => {
          const readyz = await (await client.fetch("/readyz", { signal: AbortSignal.timeout(5000) })).text();
          return readyz === "ok" || readyz.slice(0, 200);
        });
      }
    };
    return { ...info, ...client, infoFile, stop: entry.stop, killServer, restartServer };
  } catch (error) {
    await entry.stop();
    throw error;
  }
}

/** Runs build.sh (its progress goes to our stderr) and returns the bin dir it prints. */
async function buildBinaries(): Promise<string> {
  const child = spawn("bash", [buildScript()], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const bin = out.trim().split("\n").pop() ?? "";
  if (code !== 0 || bin === "") throw new Error(`test/cluster/build.sh failed (exit code ${code})`);
  return bin;
}

function buildScript(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Next to this file when run from source; from .build/test/cluster, back in the source tree.
  for (const candidate of [join(here, "build.sh"), join(here, "../../../test/cluster/build.sh")]) {
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`test/cluster/build.sh not found from ${here}`);
}

/** Three distinct free loopback ports: all bound at once so the kernel can't hand out one twice. */
async function freePorts(): Promise<[number, number, number]> {
  const listen = (): Promise<ReturnType<typeof createServer>> =>
    new Promise((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(server));
    });
  const servers = await Promise.all([listen(), listen(), listen()]);
  const port = (i: 0 | 1 | 2): number => (servers[i].address() as AddressInfo).port;
  const ports: [number, number, number] = [port(0), port(1), port(2)];
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function launch(name: string, file: string, args: string[], log: string): Proc {
  const fd = openSync(log, "a");
  const child = spawn(file, args, { stdio: ["ignore", fd, fd], detached: false });
  closeSync(fd);
  const proc: Proc = { name, log, child, done: false, exited: Promise.resolve() };
  proc.exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      proc.error = error;
      resolve();
    });
  }).then(() => void (proc.done = true));
  return proc;
}

function exitReason(p: Proc): string {
  if (p.error !== undefined) return p.error.message;
  return p.child.signalCode ?? `exit code ${p.child.exitCode}`;
}

/** SIGTERM, then SIGKILL after 5 s. */
async function terminate(p: Proc): Promise<void> {
  if (p.done) return;
  p.child.kill("SIGTERM");
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 5000);
  await p.exited;
  clearTimeout(timer);
}

/** Polls `probe` until it returns true; anything else it returns (or throws) says why not, for the error. */
async function waitUntil(p: Proc, deadline: number, what: string, probe: () => Promise<true | string>): Promise<void> {
  let last = "no answer yet";
  for (;;) {
    if (p.done) throw await startupError(p, `${p.name} exited (${exitReason(p)}) before it was ${what}`);
    try {
      const result = await probe();
      if (result === true) return;
      last = result;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      last = cause ?? (error as Error).message;
    }
    if (Date.now() > deadline) throw await startupError(p, `${p.name} was not ${what} (last probe: ${last})`);
    await sleep(100);
  }
}

async function startupError(p: Proc, message: string): Promise<Error> {
  const text = await readFile(p.log, "utf8").catch(() => "");
  const tail = text.trimEnd().split("\n").slice(-30).join("\n");
  return new Error(`${message}\n--- last 30 lines of ${p.name}'s log ---\n${tail}\n---`);
}

// The watchdog ignores the terminal's SIGINT and acts only when its stdin (our pipe) closes,
// i.e. when this process is gone, so a SIGKILLed test run doesn't leave servers behind.
function startWatchdog(dir: string): ChildProcess {
  const script =
    'trap "" INT HUP; pids=; while read -r pid; do pids="$pids $pid"; done; ' +
    'kill -KILL $pids 2>/dev/null; [ "$2" = 1 ] || { sleep 1; rm -rf "$1"; }';
  const child = spawn("sh", ["-c", script, "watchdog", dir, keep() ? "1" : "0"], { stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", () => {});
  child.stdin?.on("error", () => {});
  child.unref();
  (child.stdin as unknown as { unref(): void } | null)?.unref();
  return child;
}

let exitHooked = false;
function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // Only synchronous work is possible here.
  process.on("exit", () => {
    for (const r of running) {
      r.watchdog.kill("SIGKILL");
      for (const p of r.procs) if (!p.done) p.child.kill("SIGKILL");
      if (!keep()) rmSync(r.dir, { recursive: true, force: true, maxRetries: 3 });
    }
  });
}

let signalsHooked = false;
function hookSignals(): void {
  if (signalsHooked) return;
  signalsHooked = true;
  let stopping = false;
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    process.on(signal, () => {
      // A second signal means "now": the exit hook kills whatever is left.
      if (stopping) process.exit(code);
      stopping = true;
      say(`${signal}: stopping`);
      void Promise.allSettled([...running].map((r) => r.stop())).then(() => process.exit(code));
    });
  }
}

function kubeconfigYaml(info: ClusterInfo): string {
  // JSON strings are valid YAML scalars, so paths need no further quoting.
  const q = JSON.stringify;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: tenure-test",
    "  cluster:",
    `    server: ${q(info.server)}`,
    `    certificate-authority: ${q(info.caFile)}`,
    "users:",
    "- name: admin",
    "  user:",
    `    token: ${q(info.adminToken)}`,
    "contexts:",
    "- name: tenure-test",
    "  context:",
    "    cluster: tenure-test",
    "    user: admin",
    "current-context: tenure-test",
    "",
  ].join("\n");
}
