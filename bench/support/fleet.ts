/**
 * A fleet: electors of one implementation on one Lease, whatever they are (tenure electors in this
 * process, or separate processes, tenure's or client-go's), so that each cluster scenario
 * (scenarios.ts) is written once. A member that stopped or crashed is replaced by a fresh identity.
 * Every time is on this process's performance.now() clock, in milliseconds.
 */
import type { Timings } from "./config.ts";
import type { Sent } from "./contender.ts";
import { type LeaseSpec, until } from "./kube.ts";

/** A moment as both clocks saw it. */
export interface Mark {
  /** performance.now() of this process. */
  readonly at: number;
  /** Epoch milliseconds (with the fraction) of the clock the member read. */
  readonly wall: number;
}

export interface Member {
  readonly id: string;
  /** True while it leads, as far as it knows. */
  readonly leading: boolean;
  /** The leader it last reported; undefined once it has ended. */
  readonly leaderSeen: string | undefined;
  /** When it started leading. */
  readonly started: Mark | undefined;
  /** When it stopped acting as the leader: its signal aborted, or its process gone. */
  readonly steppedDown: number | undefined;
  /** Every request it started (watch connections included). */
  readonly sent: readonly Sent[];
  /** What it reported as errors (onError, or its stderr lines). */
  readonly errors: readonly { readonly at: number; readonly text: string }[];
  /** Asks it to stop (abort, SIGTERM): it releases the Lease if it was started with releaseOnCancel. */
  stop(): void;
  /** Crashes it (network cut, SIGKILL): no release, and once this resolves nothing it sent can still land. */
  crash(): Promise<void>;
  /** Makes sure it has ended (stopping it if nothing did) and resolves when it has. */
  retire(): Promise<void>;
  /** Its state and last words, for error messages. */
  describe(): string;
}

/** How to start members of one implementation, all as one ServiceAccount in one namespace. */
export interface Electors {
  /** For identities (`<label>-<n>`) and error messages. */
  readonly label: string;
  /** How long a fleet may take to settle (process start-up included). */
  readonly settleLimitMs: number;
  spawn(lease: string, id: string, timings: Timings, releaseOnCancel: boolean): Promise<Member>;
  /** The Lease as the admin reads it. */
  readLease(lease: string): Promise<LeaseSpec | undefined>;
}

export class Fleet {
  readonly #electors: Electors;
  readonly #lease: string;
  readonly #timings: Timings;
  readonly #releaseOnCancel: boolean;
  #next = 0;
  members: Member[] = [];

  private constructor(electors: Electors, lease: string, timings: Timings, releaseOnCancel: boolean) {
    this.#electors = electors;
    this.#lease = lease;
    this.#timings = timings;
    this.#releaseOnCancel = releaseOnCancel;
  }

  /** `size` members on `lease`, started one after the other. */
  static async start(electors: Electors, lease: string, timings: Timings, releaseOnCancel: boolean, size: number): Promise<Fleet> {
    const fleet = new Fleet(electors, lease, timings, releaseOnCancel);
    for (let i = 0; i < size; i++) fleet.members.push(await fleet.#fresh());
    return fleet;
  }

  #fresh(): Promise<Member> {
    return this.#electors.spawn(this.#lease, `${this.#electors.label}-${this.#next++}`, this.#timings, this.#releaseOnCancel);
  }

  get label(): string {
    return this.#electors.label;
  }

  leaders(): Member[] {
    return this.members.filter((m) => m.leading);
  }

  /** One leader, and every other member has reported it (so it has read the Lease and is watching). */
  async settled(limit: number = this.#electors.settleLimitMs): Promise<Member> {
    const ok = await until(() => {
      const leaders = this.leaders();
      const leader = leaders[0];
      return leaders.length === 1 && leader !== undefined && this.members.every((m) => m === leader || m.leaderSeen === leader.id);
    }, limit);
    const leader = this.leaders()[0];
    if (!ok || leader === undefined) {
      throw new Error(`${this.label}: no settled leader within ${limit} ms\n  ${this.members.map((m) => m.describe()).join("\n  ")}`);
    }
    return leader;
  }

  /** The fleet's Lease as the admin reads it. */
  lease(): Promise<LeaseSpec | undefined> {
    return this.#electors.readLease(this.#lease);
  }

  /** Replaces `old` (stopped or crashed) with a fresh member, once `old` has ended. */
  async replace(old: Member): Promise<Member> {
    await old.retire();
    const fresh = await this.#fresh();
    this.members = this.members.map((m) => (m === old ? fresh : m));
    return fresh;
  }

  /** Stops all; crashes whoever is still there after 10 s. */
  async stop(): Promise<void> {
    for (const m of this.members) m.stop();
    const timer = setTimeout(() => this.members.forEach((m) => void m.crash()), 10_000);
    await Promise.all(this.members.map((m) => m.retire()));
    clearTimeout(timer);
  }
}
