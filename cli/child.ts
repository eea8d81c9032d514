/**
 * The leader's child process, supervised so that it never outlives the term that started it.
 *
 * The child runs in a process group of its own (its pid is the group's id), so that stopping it
 * also stops what it started (a shell script's `sleep`, a Python worker pool): SIGTERM and
 * SIGKILL go to the whole group.
 *
 * tenure's own death is covered too, because a SIGKILL cannot be caught:
 * - when tenure is PID 1 of its PID namespace (a container's entrypoint), the kernel kills every
 *   other process of the namespace the moment PID 1 dies: nothing more is needed;
 * - otherwise a watchdog (`/bin/sh`, a few hundred kilobytes) is started beside the child, holding
 *   the read end of a pipe whose write end only tenure holds. When tenure dies, however it dies,
 *   the kernel closes the write end; the watchdog reads end-of-file and SIGKILLs the child's group.
 *   It ignores SIGINT/SIGTERM/SIGHUP, so a Ctrl-C or a terminal hang-up that reaches tenure's
 *   group cannot take the watchdog down first. When the child ends normally, tenure tells it to
 *   stand down ("done").
 * What this cannot cover: a SIGKILL sent to tenure's whole process group at once outside a PID
 *   namespace (watchdog included), and the instant between the child's fork and the watchdog
 *   learning its group (one event-loop turn). Run tenure as PID 1 to close both.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { constants } from "node:os";

export interface ExitStatus {
  /** Exit code, or null when a signal ended it. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The shell's convention: the code, or 128 + the signal's number. */
export const statusCode = (status: ExitStatus): number =>
  status.code ?? 128 + ((status.signal === null ? 0 : constants.signals[status.signal]) ?? 0);

export const describe = (status: ExitStatus): string =>
  status.code === null ? `was killed by ${status.signal}` : `exited with status ${status.code}`;

export interface Child {
  readonly pid: number;
  /** Resolves when the child has exited and the rest of its process group has been killed. */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal to the child's whole process group (ignored once it is gone). */
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, SIGKILL after `grace` milliseconds; resolves with the child's status. */
  stop(grace: number): Promise<ExitStatus>;
}

export class SpawnError extends Error {
  override readonly name: string = "SpawnError";
  /** 127 when the command was not found, 126 when it could not be run: the shell's codes. */
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/**
 * The watchdog: reads the child's group id, then waits. A line "done" stands it down; end-of-file
 * (tenure is gone) makes it kill the group. Its stdout and stderr are closed: nothing to say.
 */
const WATCHDOG = `trap '' INT TERM HUP QUIT PIPE
read -r group || exit 0
read -r word
[ "$word" = done ] || kill -KILL -"$group" 2>/dev/null
exit 0`;

const startWatchdog = (): ChildProcess | undefined => {
  // As PID 1 the kernel does the watchdog's job, with no window at all.
  if (process.pid === 1) return undefined;
  const watchdog = spawn("/bin/sh", ["-c", WATCHDOG, "tenure-watchdog"], { stdio: ["pipe", "ignore", "ignore"] });
  // A failed spawn is reported when the group id is written; until then keep the error quiet.
  watchdog.on("error", () => {});
  watchdog.stdin?.on("error", () => {});
  return watchdog;
};

const killGroup = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
};

/** Starts `command` in a process group of its own, under a watchdog; see the module comment. */
export const startChild = async (command: string, args: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<Child> => {
  const watchdog = startWatchdog();
  if (watchdog !== undefined && watchdog.pid === undefined) {
    // spawn failed synchronously on some runtimes; on others 'error' follows.
    throw new SpawnError("cannot start the watchdog /bin/sh, which kills the child if tenure is killed: install a shell, or run tenure as PID 1 of its container (then none is needed)", 1);
  }
  // `detached` makes the child a session and process group leader (setsid), so its pid is its group's id.
  const child = spawn(command, [...args], { stdio: "inherit", env, detached: true });
  const pid = await new Promise<number>((resolve, reject) => {
    if (child.pid !== undefined) return resolve(child.pid);
    child.once("error", (error: NodeJS.ErrnoException) => {
      reject(new SpawnError(`cannot run ${command}: ${error.message}`, error.code === "ENOENT" ? 127 : 126));
    });
  }).catch((error: unknown) => {
    watchdog?.kill("SIGKILL");
    throw error;
  });
  watchdog?.stdin?.write(`${pid}\n`);

  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      // Whatever the child left running in its group is orphaned work of this term: end it now.
      killGroup(pid, "SIGKILL");
      watchdog?.stdin?.end("done\n");
      resolve({ code, signal });
    });
  });
  let stopping: Promise<ExitStatus> | undefined;
  return {
    pid,
    exited,
    signal: (signal) => killGroup(pid, signal),
    stop: (grace) =>
      (stopping ??= (async () => {
        killGroup(pid, "SIGTERM");
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, grace)));
        const first = await Promise.race([exited, late]);
        clearTimeout(timer);
        if (first !== undefined) return first;
        killGroup(pid, "SIGKILL");
        return exited;
      })()),
  };
};
