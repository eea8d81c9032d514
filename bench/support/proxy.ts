/**
 * A counting, TLS-terminating HTTP proxy in front of the API server, one per client process, so
 * that client-go and tenure are counted the same way: every HTTP request the client sends (watch
 * connections included), whatever protocol it negotiates (HTTP/2 for Go, HTTP/1.1 for undici).
 * Its certificate is issued by the test cluster's own CA, so clients keep trusting the cluster's
 * CA file. Bodies are streamed both ways, so watches work through it.
 */
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { Agent, request } from "undici";
import { issueCert } from "../../test/cluster/pki.ts";
import { kindOf, type Sent } from "./contender.ts";
import type { TestCluster } from "./kube.ts";

export interface CountingProxy {
  /** `https://127.0.0.1:PORT` */
  readonly url: string;
  readonly sent: Sent[];
  close(): Promise<void>;
}

export interface ProxyCert {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A serving certificate for 127.0.0.1 signed by the test cluster's CA (its key is in the cluster's pki/). */
export const proxyCert = async (kube: TestCluster): Promise<ProxyCert> => {
  const issued = await issueCert({
    ca: { certFile: kube.caFile, keyFile: join(kube.dir, "pki", "ca.key") },
    base: join(kube.dir, "pki", "bench-proxy"),
    commonName: "127.0.0.1",
    usage: "serverAuth",
    subjectAltName: "IP:127.0.0.1,DNS:localhost",
  });
  return { certPem: issued.certPem, keyPem: issued.keyPem };
};

/** Connection-specific headers that must not be forwarded (and that HTTP/2 forbids). */
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "content-length", "te", "http2-settings"]);

const forwardable = (headers: Record<string, string | string[] | undefined>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(":") || HOP.has(key.toLowerCase()) || value === undefined) continue;
    out[key] = Array.isArray(value) ? value.join(", ") : value;
  }
  return out;
};

const readBody = async (req: AsyncIterable<Buffer | string>): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
};

/** Ends a response whose headers went out already: HTTP/2 resets the stream, HTTP/1.1 drops the socket. */
const abort = (res: Http2ServerResponse): void => {
  const h1 = res as unknown as { destroy?: () => void };
  if (res.stream !== undefined) res.stream.destroy();
  else h1.destroy?.();
};

export const startProxy = async (upstream: string, caPem: string, cert: ProxyCert): Promise<CountingProxy> => {
  const sent: Sent[] = [];
  // Upstream connections stay open, so that the proxy adds no TLS handshake a direct client would not make.
  const agent = new Agent({ connect: { ca: caPem, noDelay: true }, keepAliveTimeout: 600_000, keepAliveMaxTimeout: 600_000 });
  const sockets = new Set<Socket>();

  const handle = async (req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> => {
    const method = req.method.toUpperCase();
    const path = req.url;
    sent.push({ at: performance.now(), kind: kindOf(path, method) });
    const controller = new AbortController();
    res.on("close", () => controller.abort());
    try {
      const body = method === "GET" || method === "HEAD" ? undefined : await readBody(req);
      const answer = await request(upstream + path, {
        method: method as "GET",
        headers: forwardable(req.headers),
        ...(body === undefined ? {} : { body }),
        dispatcher: agent,
        signal: controller.signal,
      });
      res.writeHead(answer.statusCode, forwardable(answer.headers));
      // Watches: the client waits for the headers before any event arrives.
      (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
      for await (const chunk of answer.body) res.write(chunk as Buffer);
      res.end();
    } catch (error) {
      if (controller.signal.aborted) return abort(res);
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(`bench proxy: ${error instanceof Error ? error.message : String(error)}`);
      } else abort(res);
    }
  };

  const server = createSecureServer({ key: cert.keyPem, cert: cert.certPem, allowHTTP1: true }, (req, res) => void handle(req, res));
  server.on("secureConnection", (socket: Socket) => {
    // Without this, Nagle's algorithm and delayed ACKs add ~40 ms to small HTTP/1.1 exchanges.
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("sessionError", () => {});
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    sent,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
      await agent.close().catch(() => {});
    },
  };
};
