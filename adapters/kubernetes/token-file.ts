/**
 * Credentials from a token file that is rotated under us (bound service-account tokens): read at
 * most `maxAge` ago, and again at once after a 401.
 *
 * @module
 */
import { LockError } from "../../src/lock.ts";
import type { Credentials } from "./cluster.ts";

export const fileTokenCredentials = (
  path: string,
  read: (path: string) => Promise<string>,
  maxAge = 60_000,
  now: () => number = Date.now,
): Credentials => {
  let cached: { readonly token: string; readonly at: number } | undefined;
  let stale = true;
  let reading: Promise<string> | undefined;

  const load = async (): Promise<string> => {
    try {
      const token = (await read(path)).trim();
      if (token === "") throw new Error("the file is empty");
      cached = { token, at: now() };
      stale = false;
      return token;
    } catch (error) {
      // Mid-rotation hiccup: keep using the token we have rather than failing the request.
      if (cached !== undefined) return cached.token;
      throw new LockError("Unauthorized", `cannot read the service-account token at ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  };

  return {
    authorization: async () => {
      const fresh = cached !== undefined && !stale && now() - cached.at < maxAge;
      const token = fresh ? (cached as { token: string }).token : await (reading ??= load().finally(() => (reading = undefined)));
      return `Bearer ${token}`;
    },
    refresh: async () => {
      stale = true;
    },
  };
};
