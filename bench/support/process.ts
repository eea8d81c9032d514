/** Running the benchmarks' helper programs: build scripts that print a path, and one-shot JSON tools. */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, whether running from the sources or from .build/. */
export const repoRoot = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "src"))) return dir;
    dir = resolve(dir, "..");
  }
  throw new Error(`cannot find the repository root from ${fileURLToPath(import.meta.url)}`);
};

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a program to completion. Its stderr is passed through to ours (build progress) and also
 * kept, for error messages; `timeoutMs` kills it (by its pid) if it runs too long.
 */
export const runProgram = (file: string, args: readonly string[], timeoutMs: number = 20 * 60_000, env?: NodeJS.ProcessEnv): Promise<Ran> =>
  new Promise((resolvePromise) => {
    const child = spawn(file, [...args], { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      resolvePromise({ code: 127, stdout, stderr: stderr + error.message });
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });

/** Runs a build script that prints `name=path` or just a path as its last stdout line. */
export const buildWith = async (script: string, args: readonly string[] = []): Promise<string> => {
  const ran = await runProgram("bash", [script, ...args]);
  const last = ran.stdout.trim().split("\n").pop() ?? "";
  const path = last.includes("=") ? last.slice(last.indexOf("=") + 1) : last;
  if (ran.code !== 0 || path === "") {
    const tail = ran.stderr.trim().split("\n").slice(-5).join(" | ");
    throw new Error(`${script} failed (exit code ${ran.code})${tail === "" ? "" : `: ${tail}`}`);
  }
  return path;
};

/** Runs a program that prints one JSON object as its last stdout line, and parses it. */
export const runJson = async <T>(file: string, args: readonly string[], timeoutMs: number): Promise<T> => {
  const ran = await runProgram(file, args, timeoutMs);
  const line = ran.stdout.trim().split("\n").pop() ?? "";
  if (ran.code !== 0 || line === "") {
    throw new Error(`${file} ${args.join(" ")} failed (exit code ${ran.code}): ${ran.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
  return JSON.parse(line) as T;
};
