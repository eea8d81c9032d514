/**
 * A slow link's timeline, from the trace a fault proxy writes under `TENURE_CHAOS_TRACE=dir`
 * (proxy.ts; main.ts prints which process is behind which port):
 *
 *     TENURE_CHAOS_TRACE=/tmp/t node .build/test/chaos/main.js --no-ramp --only "2 KB"
 *     node .build/test/chaos/trace.js /tmp/t/PORT.log
 *
 * One line per burst, seconds from the first traced event: the TLS bytes a client sent on a
 * connection (`sent-up cN`) and when the rate limit let them through (`up cN`, ending at `done`),
 * the same downward, connections opened and closed, and each request as the HTTP layer saw it.
 * Bytes on one connection and direction less than 0.3 s apart are one burst. Only what happens
 * while a rate limit is on is traced.
 *
 * @module
 */
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (file === undefined) throw new Error("usage: trace.js dir/PORT.log");
const lines = readFileSync(file, "utf8").trim().split("\n").map((l) => l.split(" "));
// Connections are logged whenever they open; the timeline starts with the rate limit.
const t0 = Number(lines.find((l) => l[1] !== "open")?.[0] ?? 0);
const connectionOf = new Map<string, string>(); // the HTTP layer's view of a connection (a port) -> its number
const out: [number, string][] = [];
const bursts = new Map<string, { start: number; bytes: number; last: number }>();
const flush = (key: string): void => {
  const b = bursts.get(key);
  if (b === undefined) return;
  out.push([b.start, `${key} ${b.bytes} B (${((b.last - b.start) * 1000).toFixed(0)} ms, done ${b.last.toFixed(3)})`]);
  bursts.delete(key);
};
for (const [at, kind = "", a = "", ...rest] of lines) {
  const t = (Number(at) - t0) / 1000;
  if (kind === "open") {
    connectionOf.set(rest[1] ?? "", a);
    if (t >= 0) out.push([t, `open c${a}`]);
  } else if (kind === "close") out.push([t, `close c${a}`]);
  else if (["up", "down", "sent-up", "sent-down"].includes(kind)) {
    const key = `${kind} c${a}`;
    const b = bursts.get(key);
    if (b !== undefined && t - b.last > 0.3) flush(key);
    const c = bursts.get(key) ?? { start: t, bytes: 0, last: t };
    c.bytes += Number(rest[0]);
    c.last = t;
    bursts.set(key, c);
  } else out.push([t, `${kind} c${connectionOf.get(a) ?? `? (port ${a})`} ${rest.join(" ")}`]);
}
for (const key of [...bursts.keys()]) flush(key);
out.sort((x, y) => x[0] - y[0]);
for (const [t, s] of out) console.log(`${t.toFixed(3).padStart(8)} ${s}`);
