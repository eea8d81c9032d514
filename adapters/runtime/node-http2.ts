/**
 * HTTP/2 through `node:http2` (Node's default transport, and Bun's): one TLS connection per API
 * server carries every request and watch as concurrent streams, headers travel HPACK-compressed
 * (all but `Authorization`, which Node's HTTP/2 never indexes), and no HTTP/1.1 parser runs per
 * renew. undici's own HTTP/2 was not used: it fails every request in flight when the server sends
 * GOAWAY (kube-apiserver does after a 401), and stalls writes behind a watch.
 *
 * A session is replaced when it closes. After a GOAWAY, the streams the server says it never
 * processed (above its last stream id, or refused) are sent once more on a new session, as Go's
 * transport does; any other failure is the request's. An idle-read PING finds a dead connection.
 *
 * @module
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { Fetch } from "../kubernetes/cluster.ts";
import type { TlsOptions } from "./runtime.ts";

/** client-go's: TLS handshake 10 s; PING after 30 s without a frame read, dead 15 s later. */
const CONNECT_TIMEOUT = 10_000;
const READ_IDLE = 30_000;
const PING_TIMEOUT = 15_000;

/** The server chose another protocol than HTTP/2 in the TLS handshake (ALPN); no request reached it. */
export class Http2NotOffered extends Error {
  override readonly name: string = "Http2NotOffered";
  constructor(origin: string, chose: string | false | undefined) {
    super(`${origin} did not offer HTTP/2 in its TLS handshake (ALPN: ${chose || "none"}); leave out the http2 option, and HTTP/1.1 is used for it`);
  }
}

/** Whether a fetch failed because its server does not speak HTTP/2 (nothing was sent, so HTTP/1.1 may try). */
export const http2NotOffered = (error: unknown): boolean => error instanceof TypeError && error.cause instanceof Http2NotOffered;

/** One server's session, with what its GOAWAY said (the streams above `lastStreamId` were not processed). */
interface Session {
  readonly http2: ClientHttp2Session;
  lastStreamId?: number;
  /** Streams open on it: the connection keeps the process alive only while there are some. */
  streams: number;
  /** performance.now() when it last brought an answer or data. */
  lastRead: number;
  /** Its handshake chose another protocol than HTTP/2: why every stream on it failed. */
  notOffered?: Http2NotOffered;
}

/** The TLS settings as `node:tls` (and undici, which passes them on) take them. */
export const nodeTls = (tls: TlsOptions): { ca?: string; cert?: string; key?: string; servername?: string; rejectUnauthorized: boolean } => ({
  ...(tls.ca === undefined ? {} : { ca: tls.ca }),
  ...(tls.cert === undefined ? {} : { cert: tls.cert }),
  ...(tls.key === undefined ? {} : { key: tls.key }),
  ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
  rejectUnauthorized: tls.insecureSkipTlsVerify !== true,
});

/** A fetch over HTTP/2 with these TLS settings, one session per origin (no proxy: see node.ts). */
export const http2Fetch = (tls: TlsOptions): Fetch => {
  // One session per origin: a Cluster's fetch may be shared by locks on other servers (or on the
  // same one through another path), and a request must never ride a connection to another origin.
  const sessions = new Map<string, Session>();

  const sessionFor = (origin: string): Session => {
    const current = sessions.get(origin);
    if (current !== undefined && !current.http2.closed && !current.http2.destroyed) return current;
    const options = {
      ...nodeTls(tls),
      // Undocumented for clients, but Node's TLS options for HTTP/2 then offer `http/1.1` after `h2`
      // (Node 20, 22, 24): a server without HTTP/2 answers the handshake instead of refusing it.
      allowHTTP1: true,
    };
    const http2 = connect(origin, options);
    const session: Session = { http2, streams: 0, lastRead: performance.now() };
    const forget = (): void => void (sessions.get(origin) === session && sessions.delete(origin));
    // Each stream reports its own failure. Bun's session fails by itself when the handshake chose
    // HTTP/1.1 (its socket then says so), before "connect".
    http2.on("error", () => {
      const chose = (http2.socket as { alpnProtocol?: string | false } | undefined)?.alpnProtocol;
      if (chose !== undefined && chose !== "h2") session.notOffered ??= new Http2NotOffered(origin, chose);
    });
    http2.once("close", forget);
    http2.once("goaway", (_code: number, lastStreamId: number) => {
      session.lastStreamId = lastStreamId;
      forget(); // no new streams on it; those in flight below lastStreamId finish
    });
    const handshake = setTimeout(() => http2.destroy(new Error(`TLS handshake with ${origin} timed out after ${CONNECT_TIMEOUT} ms`)), CONNECT_TIMEOUT);
    handshake.unref();
    http2.once("connect", () => {
      clearTimeout(handshake);
      // Before the streams waiting for the handshake go out: they fail with this as their cause.
      if (http2.encrypted === true && http2.alpnProtocol !== "h2") http2.destroy((session.notOffered = new Http2NotOffered(origin, http2.alpnProtocol)));
    });
    http2.once("close", () => clearTimeout(handshake));
    watchdog(session);
    http2.unref();
    sessions.set(origin, session);
    return session;
  };

  const hold = (session: Session, delta: number): void => {
    session.streams += delta;
    if (session.http2.destroyed) return;
    if (session.streams === 0) session.http2.unref();
    else session.http2.ref();
  };

  const attempt = (url: URL, headers: OutgoingHttpHeaders, body: Uint8Array | undefined, signal: AbortSignal | undefined, retried: boolean): Promise<Response> =>
    new Promise<Response>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      let session: Session;
      let stream: ClientHttp2Stream;
      try {
        session = sessionFor(url.origin);
        stream = session.http2.request(headers, { endStream: body === undefined });
      } catch (error) {
        // The session closed between our check and the request (a GOAWAY): nothing was sent.
        if (!retried) return void attempt(url, headers, body, signal, true).then(resolve, reject);
        return reject(new TypeError("fetch failed", { cause: error }));
      }
      hold(session, +1);
      let answered = false;
      const abort = (): void => {
        stream.close(constants.NGHTTP2_CANCEL);
        if (!answered) reject(signal?.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      stream.once("close", () => {
        hold(session, -1);
        signal?.removeEventListener("abort", abort);
        if (answered || signal?.aborted) return;
        const unprocessed = stream.rstCode === constants.NGHTTP2_REFUSED_STREAM || (session.lastStreamId !== undefined && (stream.id === undefined || stream.id > session.lastStreamId));
        if (unprocessed && !retried) return void attempt(url, headers, body, signal, true).then(resolve, reject);
        reject(new TypeError("fetch failed", { cause: session.notOffered ?? failure ?? new Error(`the HTTP/2 stream closed before an answer (code ${stream.rstCode})`) }));
      });
      let failure: unknown;
      // A stream that fell with its session is "cancelled"; the session's error says why (TLS, a reset).
      stream.on("error", (error: Error & { code?: string }) => void (failure = error.code === "ERR_HTTP2_STREAM_CANCEL" && error.cause !== undefined ? error.cause : error));
      stream.once("response", (received: IncomingHttpHeaders) => {
        answered = true;
        session.lastRead = performance.now();
        const status = Number(received[":status"]);
        const nobody = status === 204 || status === 304 || headers[":method"] === "HEAD";
        let response: Response;
        try {
          response = new Response(nobody ? null : bodyOf(stream), { status, headers: headersOf(received) });
        } catch (error) {
          // A status or header the web's Response refuses: the server's answer is malformed.
          stream.close(constants.NGHTTP2_PROTOCOL_ERROR);
          return reject(new TypeError("fetch failed", { cause: error }));
        }
        // Only now: a "data" listener makes the stream flow, and what flowed before the body's own
        // listener was attached would be lost (empty bodies under many concurrent streams).
        stream.on("data", () => void (session.lastRead = performance.now()));
        if (nobody) stream.resume();
        resolve(response);
      });
      if (body !== undefined) stream.end(body);
    });

  return (input, init) => {
    const url = new URL(input);
    const method = init.method ?? "GET";
    const headers: OutgoingHttpHeaders = { ":method": method, ":path": `${url.pathname}${url.search}` };
    new Headers(init.headers).forEach((value, name) => void (headers[name] = value));
    const raw = init.body;
    if (raw !== null && raw !== undefined && typeof raw !== "string" && !(raw instanceof Uint8Array)) {
      return Promise.reject(new TypeError("the HTTP/2 transport sends string and Uint8Array bodies only"));
    }
    const body = raw === null || raw === undefined ? undefined : typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
    if (body !== undefined) headers["content-length"] = body.byteLength;
    return attempt(url, headers, body, init.signal ?? undefined, false);
  };
};

/**
 * PINGs the server when a stream is open but nothing came for READ_IDLE ms, and destroys the
 * session when no answer comes in PING_TIMEOUT ms: a cut connection would otherwise hang a watch
 * until the server's own timeout, and every request sent on it until theirs.
 */
const watchdog = (session: Session): void => {
  const { http2 } = session;
  let waiting = false;
  const timer = setInterval(() => {
    if (waiting || session.streams === 0 || http2.destroyed || performance.now() - session.lastRead < READ_IDLE) return;
    waiting = true;
    const dead = setTimeout(() => http2.destroy(new Error(`no answer to an HTTP/2 PING in ${PING_TIMEOUT} ms`)), PING_TIMEOUT);
    dead.unref();
    const answered = (error: Error | null): void => {
      clearTimeout(dead);
      waiting = false;
      session.lastRead = performance.now();
      if (error !== null) http2.destroy(error);
    };
    try {
      if (!http2.ping(answered)) answered(null); // too many PINGs outstanding: try later
    } catch {
      answered(null); // the session is closing
    }
  }, READ_IDLE / 3);
  timer.unref();
  http2.once("close", () => clearInterval(timer));
};

/** The response headers without HTTP/2's pseudo-headers. */
const headersOf = (received: IncomingHttpHeaders): Headers => {
  const out = new Headers();
  for (const [name, value] of Object.entries(received)) {
    if (name.startsWith(":") || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.append(name, String(v));
  }
  return out;
};

/** The stream's data as a web ReadableStream: ends when it ends, fails when it is cut, cancels it when cancelled, and pauses it while unread. */
const bodyOf = (stream: ClientHttp2Stream): ReadableStream<Uint8Array> => {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined) controller.close();
        else controller.error(new TypeError("terminated", { cause: error }));
      };
      stream.on("data", (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) stream.pause();
      });
      // Node ends a stream that the server reset, too: whether it truly ended shows at its close.
      let ended = false;
      stream.once("end", () => void (ended = true));
      stream.once("error", (error) => settle(error));
      stream.once("close", () => {
        const reset = stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR;
        settle(ended && !reset ? undefined : new Error(`the HTTP/2 stream closed before its end (code ${stream.rstCode})`));
      });
    },
    pull() {
      stream.resume();
    },
    cancel() {
      settled = true;
      stream.close(constants.NGHTTP2_CANCEL);
    },
  });
};

/**
 * HTTP/2 to https servers; `http1` (built only when first needed) to `http://` ones and to those
 * whose handshake did not offer HTTP/2: remembered per origin for the life of this fetch, so each
 * request fails over at most once (the ones in flight when the handshake told) and the next ones
 * go straight to HTTP/1.1.
 */
export const http2OrElse = (tls: TlsOptions, http1: () => Fetch): Fetch => {
  const http2 = http2Fetch(tls);
  let fallback: Fetch | undefined;
  const http1Origins = new Set<string>();
  // The URL is parsed for its origin only once a server has been found without HTTP/2 (http2Fetch
  // parses it anyway): not on every renew.
  const origin = (input: string): string => new URL(input).origin;
  return async (input, init) => {
    if (input.startsWith("https:") && (http1Origins.size === 0 || !http1Origins.has(origin(input)))) {
      try {
        return await http2(input, init);
      } catch (error) {
        if (!http2NotOffered(error)) throw error;
        http1Origins.add(origin(input)); // nothing was sent: HTTP/1.1 may send it
      }
    }
    fallback ??= http1();
    return fallback(input, init);
  };
};
