/**
 * A fault proxy in front of the API server, one per elector process, in two layers:
 *
 *   client ──TCP──▶ tcp layer (127.0.0.1:A) ──TCP──▶ http layer (TLS, 127.0.0.1:B) ──TLS──▶ kube-apiserver
 *
 * The TCP layer moves raw bytes (the client's TLS, untouched) and can delay them (latency), hold
 * them (blackhole: connections stay open, bytes stop, and are delivered when it heals, as TCP's
 * retransmissions would), reset every connection (RST) and refuse new ones the same way, and
 * limit their rate (slow bandwidth). The HTTP layer terminates TLS with a certificate from the
 * test cluster's CA (so clients keep trusting the cluster's CA file), speaks HTTP/2 (Go) and
 * HTTP/1.1 (undici, Deno, Bun), forwards each request upstream, and can answer 429 with
 * Retry-After, 500 or 503 instead, cut a body short, never finish a response, or let a watch go
 * silent (its stream stays open and delivers nothing more).
 *
 * @module
 */
import { createServer as createTcpServer, connect, type Server, type Socket, type AddressInfo } from "node:net";
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Agent, request } from "undici";
import type { ProxyCert } from "../../bench/support/proxy.ts";

export type TcpFault =
  | { readonly kind: "latency"; readonly ms: number }
  | { readonly kind: "blackhole" }
  | { readonly kind: "reset" }
  | { readonly kind: "bandwidth"; readonly bytesPerSecond: number };

export type HttpFault =
  | { readonly kind: "status"; readonly status: 429 | 500 | 503; readonly retryAfter?: number }
  | { readonly kind: "truncate" }
  | { readonly kind: "hang" }
  | { readonly kind: "silent-watch" };

export interface FaultProxy {
  /** `https://127.0.0.1:PORT` for the client (the TCP layer). */
  readonly url: string;
  /** Round-trip latency added, ms: half each way. */
  latency: number;
  /** Bytes per second each way, per connection; Infinity: no limit. */
  bandwidth: number;
  blackhole: boolean;
  /** While true, every connection is reset, and new ones as soon as they arrive. */
  resetting: boolean;
  http: HttpFault | undefined;
  /** Requests answered by a fault, and connections reset: a count of faults actually dealt. */
  readonly dealt: { requests: number; resets: number };
  /**
   * What the client sent and received on the wire (its TLS bytes, through the TCP layer), how
   * many TCP connections it opened, and how many requests it made over HTTP/1.1 and HTTP/2.
   */
  readonly traffic: Traffic;
  /** Clears every fault (held bytes flow again). */
  heal(): void;
  close(): Promise<void>;
}

export interface Traffic {
  up: number;
  down: number;
  connections: number;
  http1: number;
  http2: number;
}

/** A one-way pipe with latency, rate and hold, preserving order. */
class Lane {
  readonly #to: Socket;
  readonly #proxy: FaultProxy;
  readonly #queue: { chunk: Buffer; due: number }[] = [];
  #lastDue = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  readonly #delivered: ((bytes: number) => void) | undefined;

  constructor(to: Socket, proxy: FaultProxy, delivered?: (bytes: number) => void) {
    this.#to = to;
    this.#proxy = proxy;
    this.#delivered = delivered;
  }

  push(chunk: Buffer): void {
    const now = performance.now();
    const rate = this.#proxy.bandwidth;
    // Under a rate limit, 512-byte pieces, each due when the previous one has had its time.
    const size = Number.isFinite(rate) ? 512 : chunk.length;
    for (let i = 0; i < chunk.length; i += size) {
      const piece = chunk.subarray(i, i + size);
      // Each piece leaves after the one before it and its own time on the wire at this rate.
      const due = Math.max(now + this.#proxy.latency / 2, this.#lastDue) + (Number.isFinite(rate) ? (piece.length / rate) * 1000 : 0);
      this.#lastDue = due;
      this.#queue.push({ chunk: piece, due });
    }
    this.drain();
  }

  drain(): void {
    if (this.#timer !== undefined) return;
    if (this.#proxy.blackhole || this.#to.destroyed) return;
    const now = performance.now();
    while (this.#queue.length > 0 && (this.#queue[0] as { due: number }).due <= now) {
      const chunk = (this.#queue.shift() as { chunk: Buffer }).chunk;
      this.#delivered?.(chunk.length);
      this.#to.write(chunk);
    }
    const next = this.#queue[0];
    if (next !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.drain();
      }, Math.max(1, next.due - now));
    }
  }

  /**
   * After a heal: what is held or queued leaves at the link's present latency and rate (a blackhole
   * ends as TCP's retransmissions would deliver; a slow link that recovered drains at full speed).
   */
  release(): void {
    const now = performance.now();
    const rate = this.#proxy.bandwidth;
    let last = 0;
    for (const item of this.#queue) {
      item.due = Math.max(now + this.#proxy.latency / 2, last) + (Number.isFinite(rate) ? (item.chunk.length / rate) * 1000 : 0);
      last = item.due;
    }
    this.#lastDue = last;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.drain();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

/** TENURE_CHAOS_TRACE=dir: each proxy writes dir/<port>.log, a line per connection, request and delivered piece while a rate limit is on. */
const TRACE = process.env["TENURE_CHAOS_TRACE"];

/** A proxy for one client process. `upstream` is the API server's URL; `caPem` its CA. */
export const startFaultProxy = async (upstream: string, caPem: string, cert: ProxyCert): Promise<FaultProxy> => {
  const traced: string[] = [];
  // Undefined when not tracing: `trace?.(...)` then builds no line (it runs on every chunk).
  const trace = TRACE === undefined
    ? undefined
    : (line: string, always = false): void => void ((always || Number.isFinite(proxy.bandwidth)) && traced.push(`${performance.now().toFixed(1)} ${line}`));
  // ---------------------------------------------------------------- the HTTP layer
  const agent = new Agent({ connect: { ca: caPem, noDelay: true }, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000, bodyTimeout: 0 });
  const httpSockets = new Set<Socket>();
  const dealt = { requests: 0, resets: 0 };
  const traffic: Traffic = { up: 0, down: 0, connections: 0, http1: 0, http2: 0 };
  let proxy: FaultProxy;

  const hop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "content-length", "te", "http2-settings"]);
  const forwardable = (headers: Record<string, string | string[] | undefined>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(headers)) {
      if (key.startsWith(":") || hop.has(key.toLowerCase()) || value === undefined) continue;
      out[key] = Array.isArray(value) ? value.join(", ") : value;
    }
    return out;
  };
  /** Ends a response whose headers went out: HTTP/2 resets the stream, HTTP/1.1 drops the socket. */
  const cut = (res: Http2ServerResponse): void => {
    if (res.stream !== undefined) res.stream.destroy();
    else (res as unknown as { destroy(): void }).destroy();
  };
  const statusBody = (code: number, reason: string, message: string): string =>
    JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });

  const handle = async (req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> => {
    if (req.httpVersionMajor === 2) traffic.http2 += 1;
    else traffic.http1 += 1;
    const method = req.method.toUpperCase();
    const path = req.url;
    const isWatch = /[?&]watch=(true|1)/.test(path);
    trace?.(`request ${(req.socket as Socket).remotePort} ${method} ${path.slice(0, 60)} headers ${JSON.stringify(req.headers).length}`);
    const fault = proxy.http;
    if (fault?.kind === "status") {
      dealt.requests += 1;
      const reason = fault.status === 429 ? "TooManyRequests" : fault.status === 503 ? "ServiceUnavailable" : "InternalError";
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (fault.retryAfter !== undefined) headers["retry-after"] = String(fault.retryAfter);
      for await (const _ of req); // the request body, unread
      res.writeHead(fault.status, headers);
      res.end(statusBody(fault.status, reason, `chaos proxy: ${fault.status}`));
      return;
    }
    const controller = new AbortController();
    res.on("close", () => controller.abort());
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
      const body = method === "GET" || method === "HEAD" ? undefined : Buffer.concat(chunks);
      const answer = await request(upstream + path, {
        method: method as "GET",
        headers: forwardable(req.headers),
        ...(body === undefined ? {} : { body }),
        dispatcher: agent,
        signal: controller.signal,
      });
      const now = proxy.http;
      if (now?.kind === "truncate" && !isWatch) {
        // The whole length announced, half of it sent, then the stream cut.
        dealt.requests += 1;
        const full = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { ...forwardable(answer.headers), "content-length": String(full.length) });
        res.write(full.subarray(0, full.length >> 1), () => cut(res));
        return;
      }
      if (now?.kind === "hang" && !isWatch) {
        // Headers and part of the body, then nothing, until the client gives up.
        dealt.requests += 1;
        const full = Buffer.from(await answer.body.arrayBuffer());
        res.writeHead(answer.statusCode, { ...forwardable(answer.headers), "content-length": String(full.length) });
        res.write(full.subarray(0, full.length >> 1));
        return;
      }
      trace?.(`answer ${(req.socket as Socket).remotePort} ${method} ${answer.statusCode}`);
      res.writeHead(answer.statusCode, forwardable(answer.headers));
      (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
      // A watch that went silent stays silent: its stream is open and delivers nothing more.
      let silenced = false;
      for await (const chunk of answer.body) {
        if (isWatch && proxy.http?.kind === "silent-watch") {
          if (!silenced) dealt.requests += 1;
          silenced = true;
        }
        if (!silenced) res.write(chunk as Buffer);
      }
      res.end();
    } catch (error) {
      if (controller.signal.aborted) return cut(res);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "application/json" });
        res.end(statusBody(502, "InternalError", `chaos proxy: ${error instanceof Error ? error.message : String(error)}`));
      } else cut(res);
    }
  };

  const httpServer = createSecureServer({ key: cert.keyPem, cert: cert.certPem, allowHTTP1: true }, (req, res) => void handle(req, res));
  httpServer.on("secureConnection", (socket: Socket) => {
    socket.setNoDelay(true);
    httpSockets.add(socket);
    socket.on("close", () => httpSockets.delete(socket));
  });
  httpServer.on("sessionError", () => {});
  httpServer.on("tlsClientError", () => {});
  await listen(httpServer);
  const httpPort = (httpServer.address() as AddressInfo).port;

  // ---------------------------------------------------------------- the TCP layer
  const pairs = new Set<{ client: Socket; server: Socket; lanes: Lane[] }>();
  const reset = (socket: Socket): void => {
    if (!socket.destroyed) socket.resetAndDestroy();
  };
  const tcpServer = createTcpServer({ noDelay: true }, (client) => {
    client.on("error", () => {});
    traffic.connections += 1;
    if (proxy.resetting) {
      dealt.resets += 1;
      return reset(client);
    }
    const server = connect({ host: "127.0.0.1", port: httpPort, noDelay: true });
    server.on("error", () => {});
    const id = traffic.connections;
    // Always: which connection a request came on, for connections opened before the limit too.
    server.on("connect", () => trace?.(`open ${id} port ${server.localPort}`, true));
    const up = new Lane(server, proxy, trace && ((n) => trace(`up ${id} ${n}`)));
    const down = new Lane(client, proxy, trace && ((n) => trace(`down ${id} ${n}`)));
    const pair = { client, server, lanes: [up, down] };
    pairs.add(pair);
    client.on("data", (chunk: Buffer) => {
      traffic.up += chunk.length;
      trace?.(`sent-up ${id} ${chunk.length}`);
      up.push(chunk);
    });
    server.on("data", (chunk: Buffer) => {
      traffic.down += chunk.length;
      trace?.(`sent-down ${id} ${chunk.length}`);
      down.push(chunk);
    });
    const close = (): void => {
      if (!pairs.delete(pair)) return;
      trace?.(`close ${id}`);
      up.stop();
      down.stop();
      // An end or a reset on one side passes to the other (no half-open connections kept).
      reset(client);
      reset(server);
    };
    client.on("close", close);
    server.on("close", close);
    client.on("end", close);
    server.on("end", close);
  });
  await listen(tcpServer);
  const tcpPort = (tcpServer.address() as AddressInfo).port;

  let blackhole = false;
  let resetting = false;
  proxy = {
    url: `https://127.0.0.1:${tcpPort}`,
    latency: 0,
    bandwidth: Number.POSITIVE_INFINITY,
    get blackhole() {
      return blackhole;
    },
    set blackhole(on: boolean) {
      blackhole = on;
      if (!on) for (const pair of pairs) for (const lane of pair.lanes) lane.release();
    },
    get resetting() {
      return resetting;
    },
    set resetting(on: boolean) {
      resetting = on;
      if (on) {
        for (const pair of pairs) {
          dealt.resets += 1;
          reset(pair.client);
          reset(pair.server);
        }
      }
    },
    http: undefined,
    dealt,
    traffic,
    heal() {
      proxy.latency = 0;
      proxy.bandwidth = Number.POSITIVE_INFINITY;
      proxy.resetting = false;
      proxy.http = undefined;
      proxy.blackhole = false;
    },
    async close() {
      if (TRACE !== undefined) writeFileSync(join(TRACE, `${tcpPort}.log`), traced.join("\n") + "\n");
      for (const pair of pairs) {
        reset(pair.client);
        reset(pair.server);
      }
      for (const socket of httpSockets) socket.destroy();
      await Promise.all([closeServer(tcpServer), closeServer(httpServer)]);
      await agent.close().catch(() => {});
    },
  };
  return proxy;
};

const listen = (server: Server | ReturnType<typeof createSecureServer>): Promise<void> =>
  new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });

const closeServer = (server: Server | ReturnType<typeof createSecureServer>): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));
