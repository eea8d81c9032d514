/**
 * The command line of the Go peers, for the tenure programs that stand in for them in the benchmarks
 * (tenure-peer.ts, tenure-renew.ts): the connection and timing flags, Go durations, and failing.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** parseArgs options both programs take; each adds its own (and its retry-period default). */
export const PEER_FLAGS = {
  server: { type: "string" },
  "ca-file": { type: "string" },
  "token-file": { type: "string" },
  namespace: { type: "string", default: "default" },
  name: { type: "string" },
  "lease-duration": { type: "string", default: "15s" },
  "renew-deadline": { type: "string", default: "10s" },
} as const;

/** Writes `<program>: message` to stderr and exits with `status`. */
export const failing =
  (program: string, status: number) =>
  (message: string): never => {
    process.stderr.write(`${program}: ${message}\n`);
    process.exit(status);
  };

/** Go durations as the peers' flags take them: 15s, 500ms, 1.5s, 1m. */
export const goDuration = (text: string, fail: (message: string) => never): number => {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (match === null) return fail(`bad duration ${text}`);
  return Number(match[1]) * (match[2] === "ms" ? 1 : match[2] === "s" ? 1000 : 60_000);
};

/** The required connection flags, read (the CA file too), or a failure naming the missing one. */
export const connection = (
  values: { readonly server?: string | undefined; readonly name?: string | undefined; readonly "token-file"?: string | undefined; readonly "ca-file"?: string | undefined },
  fail: (message: string) => never,
): { readonly server: string; readonly name: string; readonly tokenFile: string; readonly ca: string | undefined } => ({
  server: values.server ?? fail("--server is required"),
  name: values.name ?? fail("--name is required"),
  tokenFile: values["token-file"] ?? fail("--token-file is required"),
  ca: values["ca-file"] === undefined ? undefined : readFileSync(values["ca-file"], "utf8"),
});
