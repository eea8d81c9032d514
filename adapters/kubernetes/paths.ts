/**
 * File paths in kubeconfig as kubectl treats them (Go's `filepath` on the platform it runs on):
 * `KUBECONFIG` is a list separated by `;` on Windows and `:` elsewhere (a Windows path has a `:`
 * after its drive letter); Windows paths take `\` and `/`, and are absolute with a drive letter or
 * as a UNC share (`\\server\share`); a relative path is joined to the folder of the file naming it.
 *
 * @module
 */

export interface Paths {
  /** Separates the files of a `KUBECONFIG` list. */
  readonly list: ";" | ":";
  /** The folder holding `path` (`C:\` for `C:\config`, `/` for `/config`, `.` for a bare name). */
  dirOf(path: string): string;
  /** `path` if absolute, else `path` inside `dir`. */
  resolve(dir: string, path: string): string;
  /** Where the default kubeconfig lives, from the environment. */
  home(env: (name: string) => string | undefined): string | undefined;
}

const posix: Paths = {
  list: ":",
  dirOf: (path) => (path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : "."),
  resolve: (dir, path) => (path.startsWith("/") ? path : `${dir.replace(/\/+$/, "")}/${path}`),
  home: (env) => env("HOME"),
};

// A drive letter with a separator, or a UNC share. Like Go, `\x` (no drive) counts as relative.
const ABSOLUTE = /^(?:[A-Za-z]:[\\/]|[\\/]{2})/;

const windows: Paths = {
  list: ";",
  dirOf: (path) => {
    const at = Math.max(path.lastIndexOf("\\"), path.lastIndexOf("/"));
    if (at < 0) return ".";
    const dir = path.slice(0, at);
    // The root of a drive keeps its separator: `C:` alone would mean the drive's current folder.
    return dir === "" || /^[A-Za-z]:$/.test(dir) ? path.slice(0, at + 1) : dir;
  },
  resolve: (dir, path) => (ABSOLUTE.test(path) ? path : `${dir.replace(/[\\/]+$/, "")}\\${path.replace(/\//g, "\\")}`),
  // client-go's order for a home that exists: HOME, then USERPROFILE, then HOMEDRIVE + HOMEPATH.
  home: (env) => env("HOME") ?? env("USERPROFILE") ?? (env("HOMEDRIVE") && env("HOMEPATH") ? `${env("HOMEDRIVE")}${env("HOMEPATH")}` : undefined),
};

export const pathsFor = (isWindows: boolean | undefined): Paths => (isWindows ? windows : posix);
