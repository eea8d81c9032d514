/** client-go's side of bench/protocol.ts and of bench/client-go.ts's CPU per renew: builds bench/peer-go and runs its modes. */
import { join } from "node:path";
import { buildWith, repoRoot, runJson } from "./process.ts";

export interface GoRenew {
  readonly renews: number;
  readonly seconds: number;
  readonly renewsPerSecond: number;
  readonly gomaxprocs: number;
  readonly go: string;
}

export interface GoMemory {
  readonly electors: number;
  readonly leading: number;
  readonly heapBytesPerElector: number;
  readonly stackBytesPerElector: number;
  readonly bytesPerElector: number;
  readonly rssBytesPerElector: number;
  readonly goroutinesPerElector: number;
}

/** Builds the peer (cached by content hash; progress on stderr) and returns its path. */
export const buildGoPeer = (): Promise<string> => buildWith(join(repoRoot(), "bench/peer-go/build.sh"));

/** Runs one mode of the peer and parses the JSON line it prints. */
export const runGoPeer = <T>(binary: string, args: readonly string[]): Promise<T> => runJson<T>(binary, args, 5 * 60_000);
