/**
 * `tenure run [options] -- COMMAND [ARGS...]`: campaigns on a Lease and runs COMMAND only while
 * leading. See USAGE for the contract (environment, signals, exit statuses).
 *
 * @module
 */
import type { Cluster } from "../adapters/kubernetes/index.ts";
import type { Elector } from "../src/index.ts";
import { type Child, describe, SpawnError, startChild, statusCode } from "./child.ts";
import { elect, lockOf, lossText } from "./elect.ts";
import { type Endpoint, serveHttp } from "./http.ts";
import { type ElectionFlags, ELECTION_FLAGS, type Flags, electionFlags, formatDuration, parse, parseDuration, UsageError } from "./options.ts";
import { tracker } from "./tracker.ts";
import type { Io } from "./io.ts";

/** Exit status when leadership was lost (and the child stopped) without --rejoin. */
export const EXIT_LOST = 3;

export const RUN_USAGE = `Usage: tenure run --lease NAME [options] -- COMMAND [ARGS...]

Campaigns on the Lease NAME and runs COMMAND only while this process leads.

COMMAND gets stdin, stdout and stderr, and in its environment:
  TENURE_IDENTITY      this process's identity (the Lease's holderIdentity)
  TENURE_LEASE         the Lease's name;  TENURE_NAMESPACE  its namespace
  TENURE_TRANSITIONS   the Lease's leaseTransitions for this term: a fencing token
  TENURE_ACQUIRE_TIME  the acquireTime of this term

When leadership may be lost, COMMAND's process group gets SIGTERM, then SIGKILL after --grace,
before the lease can expire for the others. When COMMAND exits, the Lease is released. SIGTERM and
SIGINT are forwarded to COMMAND; tenure waits for it, releases the Lease and exits. If tenure
itself is killed, COMMAND is killed too (see the README: run tenure as the container's PID 1).

Options:
  -l, --lease NAME            the Lease (required)
  -n, --namespace NS          default: $POD_NAMESPACE, else the pod's or the kubeconfig's namespace
      --identity ID           default: $POD_NAME, else hostname_<random>
      --lease-duration D      default 15s (whole seconds)
      --renew-deadline D      default 10s
      --retry-period D        default 2s
      --grace D               SIGTERM-to-SIGKILL time after a loss; default and maximum:
                              lease-duration - renew-deadline - 1s (4s with the defaults)
      --rejoin                after a loss, campaign again (and run COMMAND again) instead of exiting
      --events COMPONENT      record leadership Events on the Lease ("became leader", as client-go),
                              from COMPONENT on node $NODE_NAME; the Role needs events create, patch
      --coordinated           be a candidate of the API server's coordinated leader election (the
                              CoordinatedLeaderElection gate): the coordinator picks the leader
      --binary-version V      with --coordinated: this program's version, e.g. 1.4.2 (oldest leads)
      --emulation-version V   with --coordinated: the version it emulates; default --binary-version
      --http ADDRESS          serve /, /healthz and /metrics, e.g. :8080 or 127.0.0.1:8080
      --healthz-tolerance D   /healthz fails for a leader that renewed nothing for
                              lease-duration + this; default 20s
      --kubeconfig FILE       outside a cluster (default: in-cluster, else $KUBECONFIG or ~/.kube/config)
      --context NAME          a kubeconfig context other than the current one
Durations are written like 15s, 500ms, 1m30s.

Exit status:
  COMMAND's status   COMMAND exited by itself, or after a forwarded SIGTERM/SIGINT
                     (128+N if signal N killed it); the Lease was released
  0                  SIGTERM or SIGINT while not leading
  1                  tenure failed (an internal error, the watchdog could not start)
  2                  a bad flag or value, or no way to reach the cluster
  3                  leadership was lost (COMMAND was stopped) and --rejoin was not given
  126, 127           COMMAND could not be run / was not found (the Lease was released)
`;

const RUN_FLAGS: Flags = { ...ELECTION_FLAGS, grace: { type: "string" } };

/** The margin kept between the child's last moment and the earliest expiry others may judge. */
const MARGIN = 1_000;

/**
 * The grace period must end before any follower can judge the lease expired: the leader's signal
 * aborts at the latest renewDeadline after the start of its last successful renew, and no
 * follower takes over before leaseDuration after it saw that renew. So the child has
 * leaseDuration - renewDeadline to stop, minus a margin for the SIGKILL to land.
 */
const graceOf = (text: string | undefined, flags: ElectionFlags): number => {
  const room = flags.leaseDuration - flags.renewDeadline - MARGIN;
  if (room < 0) {
    throw new UsageError(
      `--lease-duration (${formatDuration(flags.leaseDuration)}) must exceed --renew-deadline (${formatDuration(flags.renewDeadline)}) by at least 1s for tenure run: that gap is the time the command has to stop after a loss before another leader may start`,
    );
  }
  if (text === undefined) return room;
  const grace = parseDuration("grace", text);
  if (grace > room) {
    throw new UsageError(
      `--grace ${text} is too long: a command still stopping could overlap the next leader. It must be at most --lease-duration - --renew-deadline - 1s = ${formatDuration(room)}; lower --grace or raise --lease-duration`,
    );
  }
  return grace;
};

export const run = async (args: readonly string[], io: Io): Promise<number> => {
  const split = args.indexOf("--");
  const { values, positionals } = parse("run", split === -1 ? args : args.slice(0, split), RUN_FLAGS);
  if (values["help"] === true) {
    io.out(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}": put the command after --, as in tenure run --lease NAME -- ${positionals.join(" ")}`);
  const command = split === -1 ? [] : args.slice(split + 1);
  if (command.length === 0) throw new UsageError("no command: write it after --, as in tenure run --lease NAME -- ./job.sh");
  const flags = electionFlags(values, io.env);
  const grace = graceOf(values["grace"] as string | undefined, flags);

  let kube: Cluster;
  try {
    kube = await io.connect(flags);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const lock = lockOf(kube, flags);
  const namespace = lock.description.split("/")[0] as string;
  const track = tracker(flags.lease, namespace, flags.identity, true);

  let shutdown: NodeJS.Signals | undefined;
  let child: Child | undefined;
  /** Decided when the child exits (or cannot start): the exit status. */
  let result: number | undefined;
  const campaign = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (shutdown !== undefined) io.log(`${signal} again: forwarding it too`);
    shutdown = signal;
    if (child !== undefined) {
      io.log(`${signal}: forwarding it to the command (pid ${child.pid}) and waiting for it to exit`);
      child.signal(signal);
    } else {
      campaign.abort();
    }
  };
  const unlisten = io.onSignals(onSignal);

  let endpoint: Endpoint | undefined;
  try {
    if (flags.http !== undefined) {
      endpoint = await serveHttp(track, flags.http, flags.healthzTolerance);
      io.log(`serving /, /healthz and /metrics on ${flags.http.host}:${endpoint.port}`);
    }
    const [file, ...rest] = command as [string, ...string[]];
    const elector: Elector = elect(lock, flags, io.log, {
      onStartedLeading: async (signal, term) => {
        track.terms++;
        io.log(`leading ${lock.description} as ${term.identity} (transitions ${term.transitions}); starting ${file}`);
        try {
          child = await startChild(file, rest, {
            ...io.env,
            TENURE_IDENTITY: term.identity,
            TENURE_LEASE: flags.lease,
            TENURE_NAMESPACE: namespace,
            TENURE_TRANSITIONS: String(term.transitions),
            TENURE_ACQUIRE_TIME: term.acquireTime ?? "",
          });
        } catch (error) {
          io.log(error instanceof Error ? error.message : String(error));
          result = error instanceof SpawnError ? error.status : 1;
          campaign.abort();
          return;
        }
        const running = child;
        track.child = true;
        track.childStarts++;
        io.log(`started ${file} (pid ${running.pid})`);
        if (shutdown !== undefined) running.signal(shutdown);
        const lost = new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          else signal.addEventListener("abort", () => resolve(), { once: true });
        });
        const first = await Promise.race([running.exited, lost.then(() => undefined)]);
        if (first !== undefined) {
          // The child ended the term by itself: release, and exit with its status.
          io.log(`${file} ${describe(first)}; releasing the lease`);
          result = statusCode(first);
          track.child = false;
          child = undefined;
          campaign.abort();
          return;
        }
        io.log(`leadership may be lost (${lossText(signal.reason)}): stopping ${file} (SIGTERM, SIGKILL after ${formatDuration(grace)})`);
        const status = await running.stop(grace);
        track.child = false;
        child = undefined;
        io.log(`${file} ${describe(status)}`);
        if (shutdown !== undefined) result = statusCode(status);
        else if (flags.rejoin) io.log(`leadership of ${lock.description} lost; campaigning again (--rejoin)`);
      },
      onStoppedLeading: () => {},
    });
    track.current = elector;
    try {
      await elector.run(campaign.signal);
    } catch (error) {
      io.log(`the elector failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
    if (result !== undefined) return result;
    if (shutdown !== undefined) return 0;
    // Only a one-shot elector's run ends by itself: leadership was lost.
    io.log(`leadership of ${lock.description} lost; exiting ${EXIT_LOST} (pass --rejoin to campaign again)`);
    return EXIT_LOST;
  } finally {
    unlisten();
    await endpoint?.close();
  }
};
