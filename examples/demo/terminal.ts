/**
 * Where the demo writes: a screen redrawn in place on a terminal, plain lines everywhere else
 * (pipes, CI logs), colour only on a terminal and never with NO_COLOR. Only `process.stdout` and
 * `process.env` are used, and only when present, so Deno and Bun run this unchanged.
 */

interface Stdout {
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
  write(text: string): unknown;
}

interface Host {
  readonly stdout?: Stdout;
  readonly env?: Readonly<Record<string, string | undefined>>;
  exitCode?: number | string | null | undefined;
  on?(event: "SIGINT", listener: () => void): unknown;
  off?(event: "SIGINT", listener: () => void): unknown;
  exit?(code?: number): void;
}

const host = (globalThis as unknown as { process?: Host }).process;

// Deno asks for permission to read the environment; without it, behave as if unset.
const env = (name: string): string | undefined => {
  try {
    return host?.env?.[name];
  } catch {
    return undefined;
  }
};

/** Whether stdout is a terminal: then we redraw in place, otherwise we print log lines. */
export const live: boolean = host?.stdout?.isTTY === true;

/** https://no-color.org: any non-empty NO_COLOR turns colour off. */
const colour = live && !env("NO_COLOR");

export type Style = (text: string) => string;
export type Paint = Readonly<Record<"bold" | "dim" | "red" | "green" | "yellow" | "cyan", Style>>;

const sgr = (open: number, close: number): Style => (colour ? (text) => `\x1b[${open}m${text}\x1b[${close}m` : (text) => text);

export const paint: Paint = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

const write = (text: string): void => {
  if (host?.stdout !== undefined) host.stdout.write(text);
  else console.log(text.replace(/\n$/, ""));
};

export const print = (line = ""): void => write(`${line}\n`);

/** Terminal size, when known. */
export const size = (): { readonly columns: number | undefined; readonly rows: number | undefined } => ({
  columns: host?.stdout?.columns || undefined,
  rows: host?.stdout?.rows || undefined,
});

export const setExitCode = (code: number): void => {
  if (host !== undefined) host.exitCode = code;
};

export const quit = (code: number): void => {
  setExitCode(code);
  host?.exit?.(code);
};

let drawn = 0;

/**
 * Replaces what the last call drew: back up to its first line, overwrite each line (clearing
 * its rest), clear below, all in one write so it never flickers. Clearing the whole screen
 * instead would push every frame into the scrollback of some terminals (tmux). Lines are cut to
 * the terminal's width, since a wrapped line would throw the line count off.
 */
export const redraw = (lines: readonly string[], last = false): void => {
  const columns = size().columns;
  // The last frame is never redrawn, so it may wrap.
  const fitted = columns === undefined || last ? lines : lines.map((line) => clip(line, columns - 1));
  write(`${drawn > 0 ? `\x1b[${drawn}F` : ""}${fitted.map((line) => `${line}\x1b[K\n`).join("")}\x1b[J`);
  drawn = fitted.length;
};

const restoreCursor = (): void => write("\x1b[?25h");
const interrupted = (): void => {
  restoreCursor();
  host?.exit?.(130);
};

/** Hides the cursor while the screen is live; the returned function shows it again. */
export const hideCursor = (): (() => void) => {
  if (!live) return () => {};
  write("\x1b[?25l");
  host?.on?.("SIGINT", interrupted);
  return () => {
    host?.off?.("SIGINT", interrupted);
    restoreCursor();
  };
};

/** Cuts a line to `width` visible characters, keeping its escape codes so colours still end. */
const clip = (line: string, width: number): string => {
  let visible = 0;
  let out = "";
  for (const part of line.split(/(\x1b\[[0-9;?]*[A-Za-z])/)) {
    if (part.startsWith("\x1b")) {
      out += part;
      continue;
    }
    const chars = [...part].slice(0, Math.max(0, width - visible));
    visible += chars.length;
    out += chars.join("");
  }
  return out;
};
