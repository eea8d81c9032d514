/**
 * One request to the API server: credentials (refreshed and retried once after a 401), JSON in and
 * out, `Warning` headers reported once, responses capped in size, and every failure turned into a
 * LockError that says what happened.
 *
 * @module
 */
import { LockError } from "../../src/lock.ts";
import type { Cluster } from "./cluster.ts";
import { type Action, describe, errorOfFailure, errorOfResponse } from "./errors.ts";

export interface Call {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path and query, already encoded. */
  readonly path: string;
  readonly body?: unknown;
  /** Of the body; default `application/json` (a PATCH names its patch type). */
  readonly contentType?: string;
  readonly signal: AbortSignal;
  readonly action: Action;
}

const USER_AGENT = "tenure/0.1 (leader election)";

/** Sends the call and returns the decoded JSON body of a successful answer. */
export const requestJson = async (cluster: Cluster, call: Call): Promise<unknown> => {
  const response = await send(cluster, call);
  return parseJson(await readCapped(response, cluster, call), call);
};

/** Sends the call; resolves with a successful response (body unread), throws a LockError otherwise. */
export const send = async (cluster: Cluster, call: Call, retried = false): Promise<Response> => {
  const headers: Record<string, string> = { accept: "application/json", "user-agent": USER_AGENT };
  // The signal bounds the wait for credentials too: a hung exec plugin must not hold the request.
  const authorization = await cluster.credentials?.authorization(call.signal);
  if (authorization !== undefined) headers["authorization"] = authorization;
  if (call.body !== undefined) headers["content-type"] = call.contentType ?? "application/json";
  let response: Response;
  try {
    response = await cluster.fetch(cluster.server + call.path, {
      method: call.method,
      headers,
      signal: call.signal,
      body: call.body === undefined ? null : JSON.stringify(call.body),
    });
  } catch (error) {
    throw errorOfFailure(error, cluster.server, call.action, call.signal);
  }
  for (const warning of warningsOf(response.headers)) cluster.warn(`the API server warns: ${warning}`);
  if (response.ok) return response;

  const text = await readCapped(response, cluster, call).catch(() => "");
  const error = errorOfResponse(response.status, tryJson(text), response.headers, call.action);
  // Bound tokens rotate: re-read and try once more before giving up.
  if (error.reason === "Unauthorized" && !retried && cluster.credentials !== undefined) {
    await cluster.credentials.refresh();
    return send(cluster, call, true);
  }
  throw error;
};

/** Where the body comes from and how much of it to take. */
export type Source = Pick<Cluster, "server" | "maxResponseBytes">;

/**
 * The body as text, chunk by chunk, capped at `maxResponseBytes` bytes: in all, or (`lines`) since
 * the last newline, which never occurs inside a multi-byte character. A connection that breaks
 * midway becomes a LockError.
 */
async function* texts(response: Response, source: Source, call: Call, lines?: boolean): AsyncGenerator<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  const decoder = new TextDecoder();
  let size = 0;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw errorOfFailure(error, source.server, call.action, call.signal, true);
      }
      if (chunk.done) break;
      const newline = lines ? chunk.value.lastIndexOf(10) : -1;
      size = newline < 0 ? size + chunk.value.length : chunk.value.length - newline - 1;
      if (size > source.maxResponseBytes) throw tooLarge(call, source.maxResponseBytes);
      yield decoder.decode(chunk.value, { stream: true });
    }
    yield decoder.decode();
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Reads a body of up to `maxResponseBytes` bytes; a larger one is a Decode error, never a crash. */
export const readCapped = async (response: Response, source: Source, call: Call): Promise<string> => {
  // No early look at Content-Length (a proxy may drop it anyway): the count stops within one chunk.
  let text = "";
  for await (const part of texts(response, source, call)) text += part;
  return text;
};

/**
 * The lines of a streamed body (a watch), each at most `maxResponseBytes` bytes. Ends when the
 * stream ends; a cut-off last line is a Decode error.
 */
export async function* lines(response: Response, source: Source, call: Call): AsyncGenerator<string> {
  let buffer = "";
  for await (const part of texts(response, source, call, true)) {
    buffer += part;
    for (let newline = buffer.indexOf("\n"); newline !== -1; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") yield line;
    }
  }
  if (buffer.trim() !== "") throw new LockError("Decode", `${describe(call.action)}: the stream ended in the middle of an event`);
}

export const parseJson = (text: string, call: Call): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new LockError("Decode", `${describe(call.action)}: the server's answer is not JSON: ${text.slice(0, 120)}`);
  }
};

const tryJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

const tooLarge = (call: Call, limit: number): LockError =>
  new LockError("Decode", `${describe(call.action)}: the response is larger than ${limit} bytes (maxResponseBytes), refused`);

/** RFC 7234 warn-text from `Warning: 299 - "text"` headers. */
const warningsOf = (headers: Headers): string[] => {
  const raw = headers.get("warning");
  if (raw === null) return [];
  return [...raw.matchAll(/\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? "").replace(/\\(.)/g, "$1"));
};
