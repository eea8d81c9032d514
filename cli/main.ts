#!/usr/bin/env node
/**
 * The `tenure` command: `run`, `serve`, `status`. A thin layer over tenure's public API (the
 * package's `.` and `./kubernetes` entries), parsing its arguments with node:util's parseArgs,
 * so it runs unchanged on Node, Deno and Bun, from npm or compiled to one file.
 *
 * @module
 */
import { connect } from "./connect.ts";
import type { Io } from "./io.ts";
import { UsageError } from "./options.ts";
import { run } from "./run.ts";
import { serve } from "./serve.ts";
import { status } from "./status.ts";

export const VERSION = "0.1.0";

const USAGE = `Usage: tenure COMMAND [options]

Kubernetes leader election for any program.

Commands:
  run     run a command only while this process leads a Lease:
            tenure run --lease NAME -- COMMAND [ARGS...]
  serve   campaign and answer who leads over HTTP (a sidecar):
            tenure serve --lease NAME --http :4040
  status  show who holds a Lease:  tenure status NAME [-n NAMESPACE] [--watch] [-o json]

'tenure COMMAND --help' describes each. In a pod tenure uses its service account; elsewhere
--kubeconfig/--context, $KUBECONFIG or ~/.kube/config.
`;

let pending: Promise<void> = Promise.resolve();
const write = (stream: NodeJS.WriteStream, text: string): void => {
  // Chained, so that exit waits for every line (a pipe may be written asynchronously).
  pending = pending.then(() => new Promise<void>((resolve) => void stream.write(text, () => resolve())));
};

const io: Io = {
  env: process.env,
  out: (text) => write(process.stdout, text),
  log: (text) => write(process.stderr, `tenure: ${text}\n`),
  onSignals: (handler) => {
    const listeners = (["SIGTERM", "SIGINT"] as const).map((signal) => {
      const listener = (): void => handler(signal);
      process.on(signal, listener);
      return [signal, listener] as const;
    });
    return () => listeners.forEach(([signal, listener]) => process.off(signal, listener));
  },
  connect: (where) => connect({ ...where, env: process.env, warn: (message) => io.log(`warning: ${message}`) }),
};

const main = async (argv: readonly string[]): Promise<number> => {
  const [command, ...args] = argv;
  try {
    switch (command) {
      case "run":
        return await run(args, io);
      case "serve":
        return await serve(args, io);
      case "status":
        return await status(args, io);
      case "--version":
      case "version":
        io.out(`tenure ${VERSION}\n`);
        return 0;
      case undefined:
      case "-h":
      case "--help":
      case "help":
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}": use run, serve or status (tenure --help)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.log(error.message);
      return 2;
    }
    io.log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  }
};

const code = await main(process.argv.slice(2));
await pending;
process.exit(code);
