/**
 * `tenure serve --lease NAME --http ADDRESS`: campaigns and reports, runs nothing: the sidecar
 * that replaces the retired leader-elector image. The program beside it asks `GET /` who leads
 * and compares the answer with its own name. After a loss it campaigns again (a sidecar that
 * exited would only be restarted by the kubelet); SIGTERM or SIGINT releases and exits 0.
 *
 * @module
 */
import type { Cluster } from "../adapters/kubernetes/index.ts";
import { elect, lockOf, lossText } from "./elect.ts";
import { type Endpoint, serveHttp } from "./http.ts";
import type { Io } from "./io.ts";
import { ELECTION_FLAGS, electionFlags, parse, UsageError } from "./options.ts";
import { tracker } from "./tracker.ts";

export const SERVE_USAGE = `Usage: tenure serve --lease NAME --http ADDRESS [options]

Campaigns on the Lease NAME and serves, on ADDRESS (:8080, 127.0.0.1:8080, [::1]:8080):
  GET /          {"name":"<leader>"}, as the retired leader-elector sidecar answered
  GET /healthz   200, or 500 when this process leads but renewed nothing for
                 lease-duration + --healthz-tolerance
  GET /metrics   Prometheus text: leader_election_master_status, leader_election_slowpath_total
                 (client-go's names) and tenure_* metrics
After a loss it campaigns again. SIGTERM or SIGINT releases the Lease (if held) and exits 0.

Options: --lease, -n/--namespace, --identity, --lease-duration, --renew-deadline, --retry-period,
--healthz-tolerance, --events, --coordinated, --binary-version, --emulation-version, --kubeconfig,
--context, as for 'tenure run --help'.

Exit status: 0 after SIGTERM/SIGINT, 1 if tenure failed, 2 for a bad flag or value.
`;

export const serve = async (args: readonly string[], io: Io): Promise<number> => {
  const { values, positionals } = parse("serve", args, ELECTION_FLAGS);
  if (values["help"] === true) {
    io.out(SERVE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (tenure serve runs no command; see tenure run)`);
  const flags = electionFlags({ rejoin: true, ...values }, io.env);
  if (flags.http === undefined) throw new UsageError("--http is required: the address to answer on, e.g. --http :4040");
  let kube: Cluster;
  try {
    kube = await io.connect(flags);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const lock = lockOf(kube, flags);
  const track = tracker(flags.lease, lock.description.split("/")[0] as string, flags.identity, false);
  const stop = new AbortController();
  const unlisten = io.onSignals(() => stop.abort());
  let endpoint: Endpoint | undefined;
  try {
    endpoint = await serveHttp(track, flags.http, flags.healthzTolerance);
    io.log(`serving /, /healthz and /metrics on ${flags.http.host}:${endpoint.port}`);
    const elector = elect(lock, flags, io.log, {
      onStartedLeading: (signal, term) => {
        track.terms++;
        io.log(`leading ${lock.description} as ${term.identity} (transitions ${term.transitions})`);
        return new Promise<void>((resolve) => {
          const done = (): void => (io.log(`no longer leading: ${lossText(signal.reason)}`), resolve());
          if (signal.aborted) done();
          else signal.addEventListener("abort", done, { once: true });
        });
      },
      onStoppedLeading: () => {},
    });
    track.current = elector;
    try {
      await elector.run(stop.signal);
    } catch (error) {
      io.log(`the elector failed: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
    return 0;
  } finally {
    unlisten();
    await endpoint?.close();
  }
};
