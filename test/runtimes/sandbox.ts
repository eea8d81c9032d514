/**
 * A place on the shared test cluster for one runtime's tests: test/cluster/sandbox.ts's set-up on
 * the cluster that `TENURE_CLUSTER` names (test/cluster/client.ts trusts the cluster's CA on Node,
 * Deno and Bun alike).
 *
 * @module
 */
import { connectCluster } from "../cluster/connect.ts";
import { createSandbox, type Sandbox, type SandboxOptions } from "../cluster/sandbox.ts";

export { type Manifest, type Sandbox, type SandboxOptions } from "../cluster/sandbox.ts";

export const sandbox = async (prefix: string, options: SandboxOptions = {}): Promise<Sandbox> =>
  createSandbox(await connectCluster(), prefix, options);
