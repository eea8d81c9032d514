/**
 * What the kernel says about a process (Linux /proc), the same way for Node and Go: its open TCP
 * connections to one port, its CPU time and its resident memory.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS = 100;

/** Socket inodes of established TCP connections to `port`, from /proc/net/tcp and tcp6. */
const established = (port: number): Set<string> => {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2];
      if (remote === undefined || fields[3] !== "01") continue; // 01: ESTABLISHED
      if (parseInt(remote.slice(remote.indexOf(":") + 1), 16) === port) inodes.add(fields[9] as string);
    }
  }
  return inodes;
};

/** How many established TCP connections each process has open to `port`. */
export const connectionsTo = (pids: readonly number[], port: number): Map<number, number> => {
  const open = established(port);
  const out = new Map<number, number>();
  for (const pid of pids) {
    let count = 0;
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
          if (target.startsWith("socket:[") && open.has(target.slice(8, -1))) count++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process is gone
    }
    out.set(pid, count);
  }
  return out;
};

/** User + system CPU milliseconds the process has used so far. */
export const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command: state is field 3; utime and stime are fields 14 and 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
};

/** Resident set size in bytes. */
export const rssBytes = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? NaN : Number(match[1]) * 1024;
};
