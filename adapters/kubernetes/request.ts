/**
 * One request to the API server: credentials (refreshed and retried once after a 401), JSON in and
 * out (a Lease's answer may be protobuf), `Warning` headers reported once, responses capped in
 * size, and every failure turned into a LockError that says what happened.
 *
 * @module
 */
import { LockError } from "../../src/lock.ts";
import type { Cluster } from "./cluster.ts";
import { type Action, describe, errorOfFailure, errorOfResponse } from "./errors.ts";
import { decodeProtobufLease, decodeProtobufStatus, PROTOBUF } from "./protobuf.ts";

export interface Call {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path and query, already encoded. */
  readonly path: string;
  readonly body?: unknown;
  /** Of the body; default `application/json` (a PATCH names its patch type). */
  readonly contentType?: string;
  /** Default `application/json`. */
  readonly accept?: string;
  readonly signal: AbortSignal;
  readonly action: Action;
}

const USER_AGENT = "tenure/0.1 (leader election)";

/** Sends the call and returns the decoded JSON body of a successful answer. */
export const requestJson = async (cluster: Cluster, call: Call): Promise<unknown> => {
  const response = await send(cluster, call);
  return parseJson(await readCapped(response, cluster, call), call);
};

/** Asks for protobuf (JSON as the fallback) and decodes the answer by its Content-Type. */
export const requestLease = async (cluster: Cluster, call: Call): Promise<unknown> => {
  const response = await send(cluster, { ...call, accept: ACCEPT_PROTOBUF });
  return isProtobuf(response) ? decodeProtobufLease(await readBytes(response, cluster, call)) : parseJson(await readCapped(response, cluster, call), call);
};

/** Kubernetes protobuf first (only Leases are asked for it), JSON if the server or a proxy cannot. */
export const ACCEPT_PROTOBUF: string = `${PROTOBUF}, application/json`;

export const isProtobuf = (response: Response): boolean => response.headers.get("content-type")?.startsWith(PROTOBUF) === true;

/** Sends the call; resolves with a successful response (body unread), throws a LockError otherwise. */
export const send = async (cluster: Cluster, call: Call, retried = false): Promise<Response> => {
  const headers: Record<string, string> = { accept: call.accept ?? "application/json", "user-agent": USER_AGENT };
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

  const body = await readBytes(response, cluster, call).catch(() => new Uint8Array(0));
  const error = errorOfResponse(response.status, isProtobuf(response) ? statusOf(body) : tryJson(utf8.decode(body)), response.headers, call.action);
  // Bound tokens rotate: re-read and try once more before giving up.
  if (error.reason === "Unauthorized" && !retried && cluster.credentials !== undefined) {
    await cluster.credentials.refresh();
    return send(cluster, call, true);
  }
  throw error;
};

/** Where the body comes from and how much of it to take. */
export type Source = Pick<Cluster, "server" | "maxResponseBytes">;

/** The body's chunks (uncounted); a connection that breaks midway becomes a LockError. */
export async function* chunks(response: Response, source: Source, call: Call): AsyncGenerator<Uint8Array> {
  const reader = response.body?.getReader();
  if (reader === undefined) return;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw errorOfFailure(error, source.server, call.action, call.signal, true);
      }
      if (chunk.done) return;
      yield chunk.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** Reads a body of up to `maxResponseBytes` bytes; a larger one is a Decode error, never a crash. */
const readBytes = async (response: Response, source: Source, call: Call): Promise<Uint8Array> => {
  // No early look at Content-Length (a proxy may drop it anyway): the count stops within one chunk.
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks(response, source, call)) {
    if ((size += chunk.length) > source.maxResponseBytes) throw tooLarge(call, source.maxResponseBytes);
    parts.push(chunk);
  }
  return concat(parts, size);
};

export const readCapped = async (response: Response, source: Source, call: Call): Promise<string> => utf8.decode(await readBytes(response, source, call));

/**
 * The lines of a streamed body (a watch), each at most `maxResponseBytes` bytes. Ends when the
 * stream ends; a cut-off last line is a Decode error.
 */
export async function* lines(response: Response, source: Source, call: Call): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  let size = 0;
  for await (const chunk of chunks(response, source, call)) {
    // Bytes since the last newline, which never occurs inside a multi-byte character.
    const newline = chunk.lastIndexOf(10);
    size = newline < 0 ? size + chunk.length : chunk.length - newline - 1;
    if (size > source.maxResponseBytes) throw tooLarge(call, source.maxResponseBytes);
    buffer += decoder.decode(chunk, { stream: true });
    for (let newline = buffer.indexOf("\n"); newline !== -1; newline = buffer.indexOf("\n")) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== "") yield line;
    }
  }
  if ((buffer + decoder.decode()).trim() !== "") throw cut(call);
}

/**
 * The frames of a protobuf watch (`;stream=watch`): a 4-byte big-endian length, then the event.
 * One longer than `maxResponseBytes` is refused before it is read; a cut-off last one is a Decode error.
 */
export async function* frames(response: Response, source: Source, call: Call): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  // The bytes needed: the length (4), then the whole frame once the length is read. Chunks are
  // joined only when enough are in.
  let need = 4;
  let length: number | undefined;
  for await (const chunk of chunks(response, source, call)) {
    parts.push(chunk);
    size += chunk.length;
    while (size >= need) {
      const b = concat(parts, size);
      parts = [b];
      if (length === undefined) {
        length = new DataView(b.buffer, b.byteOffset).getUint32(0);
        if (length > source.maxResponseBytes) throw tooLarge(call, source.maxResponseBytes);
        need += length;
        continue;
      }
      yield b.subarray(4, need);
      parts = [b.subarray(need)];
      size -= need;
      need = 4;
      length = undefined;
    }
  }
  if (size > 0) throw cut(call);
}

/** Chunks as one array (copied only when there are several). */
const concat = (parts: readonly Uint8Array[], size: number): Uint8Array => {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) out.set(part, (at += part.length) - part.length);
  return out;
};

const cut = (call: Call): LockError => new LockError("Decode", `${describe(call.action)}: the stream ended in the middle of an event`);

export const parseJson = (text: string, call: Call): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    throw new LockError("Decode", `${describe(call.action)}: the server's answer is not JSON: ${text.slice(0, 120)}`);
  }
};

const utf8 = new TextDecoder();

/** A protobuf error answer's Status; one that cannot be read is told by its HTTP status alone. */
const statusOf = (body: Uint8Array): unknown => {
  try {
    return decodeProtobufStatus(body);
  } catch {
    return "(an unreadable protobuf Status)";
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
