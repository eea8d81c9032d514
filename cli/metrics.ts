/**
 * `/metrics`: Prometheus text exposition format 0.0.4, with client-go's two leader-election
 * metrics under their own names and help, so dashboards and alerts written for
 * kube-controller-manager work unchanged, plus what a sidecar's user asks next.
 *
 * @module
 */
import type { Tracker } from "./tracker.ts";

/** A label value, escaped as the format requires (backslash, double quote, newline). */
const label = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

interface Metric {
  readonly name: string;
  readonly type: "gauge" | "counter";
  readonly help: string;
  readonly samples: readonly (readonly [labels: Readonly<Record<string, string>>, value: number])[];
}

const render = (metrics: readonly Metric[]): string =>
  metrics
    .map((m) =>
      [
        `# HELP ${m.name} ${m.help}`,
        `# TYPE ${m.name} ${m.type}`,
        ...m.samples.map(([labels, value]) => {
          const text = Object.entries(labels).map(([k, v]) => `${k}="${label(v)}"`).join(",");
          return `${m.name}${text === "" ? "" : `{${text}}`} ${Number.isFinite(value) ? value : "NaN"}`;
        }),
      ].join("\n")
    )
    .join("\n") + "\n";

export const metricsText = (t: Tracker): string => {
  const m = t.current?.metrics();
  const name = { name: t.lease };
  const metrics: Metric[] = [
    // client-go's, verbatim (k8s.io/component-base/metrics/prometheus/clientgo/leaderelection).
    {
      name: "leader_election_master_status",
      type: "gauge",
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      samples: [[name, t.current?.isLeader() === true ? 1 : 0]],
    },
    {
      name: "leader_election_slowpath_total",
      type: "counter",
      help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease. Please make sure to group by name.",
      samples: [[name, m?.slowpathTotal ?? 0]],
    },
    // tenure's.
    {
      name: "tenure_leader_info",
      type: "gauge",
      help: "1, labelled with the holder this process last observed on the lease (empty: none) and its own identity.",
      samples: [[{ name: t.lease, namespace: t.namespace, holder: m?.observedHolder ?? "", identity: t.identity }, 1]],
    },
    {
      name: "tenure_lease_transitions",
      type: "gauge",
      help: "The lease's leaseTransitions as last observed (a fencing token: grows with every change of holder).",
      samples: m?.transitions === undefined ? [] : [[name, m.transitions]],
    },
    {
      name: "tenure_terms_total",
      type: "counter",
      help: "Terms of leadership this process has begun.",
      samples: [[name, t.terms]],
    },
    {
      name: "tenure_last_renew_age_seconds",
      type: "gauge",
      help: "Seconds since this process last wrote the lease successfully (absent before its first write).",
      samples: m?.sinceLastWrite === undefined ? [] : [[name, m.sinceLastWrite / 1000]],
    },
  ];
  if (t.child !== undefined) {
    metrics.push(
      { name: "tenure_child_running", type: "gauge", help: "1 while the command run by `tenure run` is running.", samples: [[name, t.child ? 1 : 0]] },
      { name: "tenure_child_starts_total", type: "counter", help: "Times `tenure run` started its command.", samples: [[name, t.childStarts]] },
    );
  }
  return render(metrics);
};
