/**
 * A `fetch` over one HTTP/2 connection (node:http2), for a sharded replica: the shared watch and
 * every lease's requests travel as streams of one TLS connection, and the API server serves them
 * concurrently, as client-go's transport does. (undici's HTTP/2, tried first, stalls requests
 * with a body behind an open watch stream.) A connection that closes or fails is replaced by the
 * next request; the streams it carried fail, and their electors retry as after any network error.
 */
import { type ClientHttp2Session, connect, constants, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http2";
import type { Fetch } from "../../adapters/kubernetes/cluster.ts";

export interface Http2FetchOptions {
  /** PEM of the CA that signed the server's certificate. */
  readonly ca?: string | undefined;
}

export const http2Fetch = (options: Http2FetchOptions = {}): Fetch => {
  let session: ClientHttp2Session | undefined;
  // The connection keeps the process alive only while a stream is open on it.
  let open = 0;
  const hold = (delta: number): void => {
    open += delta;
    if (open === 0) session?.unref();
    else session?.ref();
  };
  const sessionFor = (origin: string): ClientHttp2Session => {
    if (session !== undefined && !session.closed && !session.destroyed) return session;
    const fresh = connect(origin, { ...(options.ca === undefined ? {} : { ca: options.ca }) });
    fresh.on("error", () => {}); // each stream reports its own failure
    fresh.on("close", () => void (session === fresh && (session = undefined)));
    session = fresh;
    return fresh;
  };

  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const target = new URL(url);
      const headers: OutgoingHttpHeaders = { ":method": init.method ?? "GET", ":path": `${target.pathname}${target.search}` };
      for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) headers[name.toLowerCase()] = value;
      const body = init.body === null || init.body === undefined ? undefined : String(init.body);
      let stream: ReturnType<ClientHttp2Session["request"]>;
      try {
        stream = sessionFor(target.origin).request(headers, { endStream: body === undefined });
      } catch (error) {
        return reject(error);
      }
      hold(+1);
      stream.once("close", () => hold(-1));
      const abort = (): void => {
        stream.close(constants.NGHTTP2_CANCEL);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", abort, { once: true });
      stream.once("close", () => signal?.removeEventListener("abort", abort));
      stream.once("error", reject);
      stream.once("response", (received: IncomingHttpHeaders) => {
        const status = Number(received[":status"]);
        const out = new Headers();
        for (const [name, value] of Object.entries(received)) {
          if (name.startsWith(":") || value === undefined) continue;
          for (const v of Array.isArray(value) ? value : [value]) out.append(name, String(v));
        }
        const nobody = status === 204 || status === 304 || init.method === "HEAD";
        if (nobody) stream.resume();
        resolve(new Response(nobody ? null : bodyOf(stream), { status, headers: out }));
      });
      if (body !== undefined) stream.end(body);
    });
};

/** The stream's data as a web ReadableStream that ends when it ends, fails when it is cut, and cancels it when cancelled. */
const bodyOf = (stream: ReturnType<ClientHttp2Session["request"]>): ReadableStream<Uint8Array> => {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const settle = (error?: unknown): void => {
        if (settled) return;
        settled = true;
        if (error === undefined) controller.close();
        else controller.error(error);
      };
      stream.on("data", (chunk: Buffer) => !settled && controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
      stream.once("end", () => settle());
      stream.once("error", (error) => settle(error));
      stream.once("close", () => settle(new Error("the HTTP/2 stream closed before its end")));
    },
    cancel() {
      settled = true;
      stream.close(constants.NGHTTP2_CANCEL);
    },
  });
};
