/**
 * Leases in Kubernetes protobuf, about half the bytes of their JSON, which keeps a leader on a
 * slow link (issue #9). Reads a Lease (an answer, a watch event's object) into the KubeObject the
 * JSON path gives, less what it does not read (ownerReferences, finalizers, managedFields...): such
 * an object is marked PARTIAL and never PUT back (object-lock.ts). Also reads a Status (an error
 * answer, a watch's ERROR event) and a watch's events (request.ts cuts the stream into frames).
 * Malformed bytes are a Decode LockError.
 *
 * @module
 */
import { LockError } from "../../src/lock.ts";
import type { KubeObject, Status, WatchEvent } from "./wire.ts";

export const PROTOBUF = "application/vnd.kubernetes.protobuf";

/** On an object read from protobuf; a symbol, so never sent in a body. */
export const PARTIAL: unique symbol = Symbol("partial");

const fail = (what: string): never => {
  throw new LockError("Decode", `malformed protobuf from the server: ${what}`);
};

/** Each field number's values in order: varints as numbers, length-delimited fields as bytes. */
type Fields = Record<number, (number | Uint8Array)[]>;

const fieldsOf = (b: Uint8Array): Fields => {
  const out: Fields = {};
  let i = 0;
  const varint = (): number => {
    let n = 0;
    for (let scale = 1; scale < 2 ** 70; scale *= 128) {
      if (i >= b.length) fail("it is cut short");
      const c = b[i++] as number;
      n += (c & 127) * scale;
      if (c < 128) return n;
    }
    return fail("a varint longer than 10 bytes");
  };
  while (i < b.length) {
    const key = varint();
    const wire = key % 8;
    let value: number | Uint8Array;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const n = varint();
      if (n > b.length - i) fail("a length runs past its end");
      value = b.subarray(i, (i += n));
    } else if (wire === 1 || wire === 5) {
      // Fixed-width: none read here, skipped.
      if ((i += wire === 1 ? 8 : 4) > b.length) fail("it is cut short");
      continue;
    } else return fail(`wire type ${wire}`);
    (out[Math.floor(key / 8)] ??= []).push(value);
  }
  return out;
};

/** A field's value as the last one sent (protobuf's rule), read as one type. */
type Reader = (f: Fields, n: number) => unknown;

const wrong = (n: number): never => fail(`field ${n} has the wrong wire type`);
/** A field's values, each of which must be length-delimited. */
const all = (f: Fields, n: number): Uint8Array[] | undefined => f[n]?.map((v) => (typeof v === "number" ? wrong(n) : v));
const bytes = (f: Fields, n: number): Uint8Array | undefined => all(f, n)?.at(-1);
const utf8 = new TextDecoder();
const str: Reader = (f, n) => {
  const v = bytes(f, n);
  return v && utf8.decode(v);
};
// An int32 beyond its range (a negative one is 10 bytes) fails the Lease's io-ts decoding.
const num: Reader = (f, n) => {
  const v = f[n]?.at(-1);
  return typeof v === "object" ? wrong(n) : v;
};
const sub = (f: Fields, n: number): Fields => fieldsOf(bytes(f, n) ?? new Uint8Array(0));

/** A MicroTime as the JSON has it (`2026-12-02T16:55:03.123456Z`); zero (no bytes) is null, as in JSON. */
const microTime: Reader = (f, n) => {
  const v = bytes(f, n);
  if (v === undefined) return undefined;
  if (v.length === 0) return null;
  const t = fieldsOf(v);
  const seconds = (num(t, 1) ?? 0) as number;
  const nanos = (num(t, 2) ?? 0) as number;
  // Up to 9999-12-31, as RFC 3339 (a negative number of seconds is a 10-byte varint, far above).
  if (seconds >= 253402300800 || nanos >= 1e9) fail("a time out of range");
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z`;
};

/** A map<string, string>: repeated entries of key 1, value 2. */
const stringMap: Reader = (f, n) => {
  const entries = all(f, n)?.map((entry) => [str(fieldsOf(entry), 1) ?? "", str(fieldsOf(entry), 2) ?? ""]);
  return entries && Object.fromEntries(entries);
};

/** Fields by number into names; `omitEmpty` leaves out "" and 0 as JSON's omitempty does (not for pointers). */
type Shape = readonly (readonly [string, number, Reader])[];
const read = (f: Fields, shape: Shape, omitEmpty: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const [name, n, reader] of shape) {
    const v = reader(f, n);
    if (v !== undefined && !(omitEmpty && (v === "" || v === 0))) out[name] = v;
  }
  return out;
};

const META: Shape = [["name", 1, str], ["namespace", 3, str], ["uid", 5, str], ["resourceVersion", 6, str], ["labels", 11, stringMap], ["annotations", 12, stringMap]];
// Every LeaseSpec field is a pointer: an empty string or 0 is there.
const SPEC: Shape = [["holderIdentity", 1, str], ["leaseDurationSeconds", 2, num], ["acquireTime", 3, microTime], ["renewTime", 4, microTime], ["leaseTransitions", 5, num], ["strategy", 6, str], ["preferredHolder", 7, str]];
// What errors.ts reads of a Status: StatusDetails {causes 4 {message 2}, retryAfterSeconds 5}.
const causes: Reader = (f, n) => all(f, n)?.map((cause) => read(fieldsOf(cause), [["message", 2, str]], true));
const details: Reader = (f, n) => f[n] && read(sub(f, n), [["causes", 4, causes], ["retryAfterSeconds", 5, num]], true);
const STATUS: Shape = [["message", 3, str], ["reason", 4, str], ["details", 5, details], ["code", 6, num]];

/** The object in the envelope: "k8s\0", then an Unknown {TypeMeta 1 {apiVersion 1, kind 2}, raw 2}. */
const unwrap = (b: Uint8Array, kind: string): Fields => {
  if (utf8.decode(b.subarray(0, 4)) !== "k8s\0") fail(`no "k8s\\0" at its start`);
  const unknown = fieldsOf(b.subarray(4));
  const type = str(sub(unknown, 1), 2);
  return type === kind ? sub(unknown, 2) : fail(`a ${type} where a ${kind} was expected`);
};

/** A Lease answer's body. */
export const decodeProtobufLease = (b: Uint8Array): KubeObject => {
  const lease = unwrap(b, "Lease");
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: read(sub(lease, 1), META, true) as KubeObject["metadata"],
    spec: read(sub(lease, 2), SPEC, false),
    [PARTIAL]: true,
  };
};

/** An error answer's body. */
export const decodeProtobufStatus = (b: Uint8Array): Status => ({ kind: "Status", ...read(unwrap(b, "Status"), STATUS, true) });

/** A MODIFIED event's resourceVersion, the rest not decoded (a watch's echo of the lock's own write is known). */
export const modifiedVersion = (b: Uint8Array): string | undefined => {
  const event = fieldsOf(b);
  return str(event, 1) === "MODIFIED" ? str(sub(unwrap(raw(event), "Lease"), 1), 6) as string : undefined;
};

/** A WatchEvent's object: {type 1, object 2 {raw 1}}. */
const raw = (event: Fields): Uint8Array => bytes(sub(event, 2), 1) ?? new Uint8Array(0);

/** One watch frame (its 4-byte length taken off): a WatchEvent {type 1, object 2 {raw 1}}. */
export const decodeProtobufEvent = (b: Uint8Array): WatchEvent => {
  const event = fieldsOf(b);
  const type = str(event, 1) as string;
  if (!["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"].includes(type)) fail(`a watch event of type ${type}`);
  return { type, object: (type === "ERROR" ? decodeProtobufStatus : decodeProtobufLease)(raw(event)) } as WatchEvent;
};
