/**
 * Running a credential plugin under the same limits on every runtime: a deadline, a cap on what it
 * prints, and a kill when either is reached. A plugin that never exits (a cloud `get-token` stuck
 * on its metadata service) or never stops printing must not hold the credentials, or the memory,
 * forever. Each runtime only starts the process (`Runtime.spawn`); the limits live here, once.
 *
 * @module
 */
import { type Child, type ExecResult, type Runtime, unsupported } from "./runtime.ts";

export interface ExecLimits {
  /** Milliseconds the plugin may run before it is killed. */
  readonly timeout: number;
  /** Bytes of stdout and stderr together before it is killed. */
  readonly maxOutputBytes: number;
}

/** kubectl sets none; these are generous for a `get-token` and small enough not to wedge an elector. */
export const EXEC_LIMITS: ExecLimits = { timeout: 60_000, maxOutputBytes: 1024 * 1024 };

/**
 * Runs `command` to its end and returns its exit code and output. Rejects with an Error whose
 * message completes "the plugin ...": "could not be run: ...", "did not finish within N ms and was
 * stopped", "printed more than N bytes and was stopped".
 */
export const execLimited = async (
  runtime: Runtime,
  command: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  limits: ExecLimits = EXEC_LIMITS,
): Promise<ExecResult> => {
  if (runtime.spawn === undefined) {
    throw unsupported("this runtime", "run credential plugins", "pass a token or credentials to cluster() yourself");
  }
  const notRun = (error: unknown): Error => new Error(`could not be run: ${error instanceof Error ? error.message : String(error)}`);
  let child: Child;
  try {
    child = runtime.spawn(command, args, env);
  } catch (error) {
    throw notRun(error);
  }
  let stop: (why: string) => void = () => {};
  const stopped = new Promise<never>((_, reject) => (stop = (why) => reject(new Error(`${why} and was stopped`))));
  const timer = setTimeout(() => stop(`did not finish within ${limits.timeout} ms`), limits.timeout);
  const readers = [child.stdout.getReader(), child.stderr.getReader()] as const;
  let total = 0;
  const read = async (reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> => {
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return text + decoder.decode();
      if ((total += value.length) > limits.maxOutputBytes) {
        stop(`printed more than ${limits.maxOutputBytes} bytes`);
        return "";
      }
      text += decoder.decode(value, { stream: true });
    }
  };
  const exited = child.exited.catch((error: unknown) => {
    throw notRun(error);
  });
  try {
    const [code, stdout, stderr] = await Promise.race([Promise.all([exited, read(readers[0]), read(readers[1])]), stopped]);
    return { code, stdout, stderr };
  } catch (error) {
    child.kill();
    throw error;
  } finally {
    clearTimeout(timer);
    // Not waiting for the pipes to close: a grandchild (the `sleep` of a shell script) may hold them.
    for (const reader of readers) reader.cancel().catch(() => {});
  }
};
