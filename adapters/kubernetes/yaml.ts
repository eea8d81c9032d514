/**
 * The YAML that kubeconfig files are written in, read as kubectl reads it (go-yaml v2 through
 * sigs.k8s.io/yaml), or a YamlError with a line and column, never a guess. Hand-written rather than
 * the `yaml` package: it is a quarter of the bundle and reads merge keys as go-yaml does (see the
 * README's "Reading kubeconfig").
 *
 * Supported: block mappings and sequences (compact `- name: x`, and kubectl's unindented
 * `key:\n- item`); plain, single- and double-quoted scalars, also wrapped onto more-indented lines
 * (go-yaml and PyYAML wrap long strings at 80 columns: GKE's `installHint`); block scalars `|` `>`
 * with chomping (`-` `+`) and indentation indicators (kubelogin writes `installHint: |2`); flow
 * collections, also over several lines and with comments; anchors (`&name`) on values and aliases
 * (`*name`); merge keys (`<<: *name`, `<<: [*a, *b]`) with go-yaml v2's order (a key before `<<` is
 * overwritten by the merge, a key after it wins, and earlier maps of a list win over later ones);
 * comments; one document with `---` / `...`; CRLF; a BOM. A document starting with `{` or `[` is
 * read as JSON when it is JSON, else as YAML.
 *
 * Plain scalars are typed as go-yaml v2 types them (kubectl's reader): null (`null` `~` empty),
 * YAML 1.1's booleans (`true`, `yes`, `y`, `on` and their false twins, in three cases), integers
 * in Go's notation (`0777` is octal, `0b101`, `0o17`, `0x1F`, underscores ignored), floats, `.inf`,
 * `.nan`. Everything else is a string: `v1`, `1.2.3`, dates. Quoted scalars and all keys are
 * strings. An integer that a double cannot hold exactly (beyond 2^53) is an error rather than
 * silently rounded.
 *
 * Rejected: tags, anchors on keys, complex keys (`?`), directives, multiple documents, duplicate
 * keys (go-yaml keeps the last), tabs in indentation, scalars that wrap inside a flow collection,
 * aliases that expand to more than 100 000 values, and a document starting with `{` or `[` that is
 * neither JSON nor YAML (JSON.parse reads JSON, so there the last of duplicate keys wins).
 *
 * @module
 */

/** Input this parser cannot read, and where. */
export class YamlError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(line: number, column: number, problem: string, hint: string) {
    super(`kubeconfig line ${line}, column ${column}: ${problem} (${hint})`);
    this.name = "YamlError";
    this.line = line;
    this.column = column;
  }
}

interface Line {
  /** 1-based, for messages. */
  readonly no: number;
  readonly text: string;
  /** Where this line's node starts: its indentation, or just past `- ` in a compact sequence entry. */
  start: number;
}

/** Deeper than any kubeconfig, shallow enough that malicious input cannot overflow the stack. */
const MAX_DEPTH = 100;
const ESCAPES = new Map(Object.entries({ "0": "\0", a: "\x07", b: "\b", t: "\t", "\t": "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029" }));
const HEX_ESCAPES = new Map([["x", 2], ["u", 4], ["U", 8]]);
/** Where a plain scalar ends: `: ` (a key), ` #` (a comment), and in flow also `,[]{}`. */
const BLOCK_STOP = /:(?=[ \t]|$)|[ \t]#/g;
const FLOW_STOP = /[,[\]{}]|:(?=[ \t,[\]{}]|$)|[ \t]#/g;
/** go-yaml's anchor names. */
const ANCHOR = /[0-9A-Za-z_-]+/y;
/** Values that aliases may stand for in one file, counted as if written out (go-yaml has a limit too). */
const MAX_EXPANDED = 100_000;
const MARKER = /^(?:---|\.\.\.)(?:[ \t]|$)/;
const INDENTATION = "entries of one mapping or sequence must line up exactly";

const fail = (l: Line, p: number, problem: string, hint: string): never => {
  throw new YamlError(l.no, p + 1, problem, hint);
};
const isSpace = (c: string | undefined): boolean => c === " " || c === "\t";
const skipSpaces = (t: string, p: number): number => {
  while (isSpace(t[p])) p++;
  return p;
};
const isDash = (t: string, p: number): boolean => t[p] === "-" && (t[p + 1] === undefined || isSpace(t[p + 1]));
/** How many values `v` stands for when written out (a shared object counts each time it occurs). */
const sizeOf = (v: unknown, memo = new WeakMap<object, number>()): number => {
  if (typeof v !== "object" || v === null) return 1;
  const known = memo.get(v);
  if (known !== undefined) return known;
  let size = 1;
  for (const x of Object.values(v)) size += sizeOf(x, memo);
  memo.set(v, size);
  return size;
};
/** Defines rather than assigns, so that a key `__proto__` is data, not the prototype. */
const define = (o: Record<string, unknown>, k: string, v: unknown): void => {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
};

/** Only spaces and a comment may follow a complete value on its line. */
const trailing = (l: Line, p: number): void => {
  const q = skipSpaces(l.text, p);
  if (q < l.text.length && !(l.text[q] === "#" && q > p))
    fail(l, q, `unexpected ${JSON.stringify(l.text.slice(q, q + 12))}`, "only a comment may follow a value on its line; quote the value if it contains this");
};

/**
 * Plain scalars typed as go-yaml v2 types them, since that is what kubectl reads with: YAML 1.1's
 * booleans (`yes`, `on`, `n`...) and integers in Go's notation (`0777` octal, `0b101`, `0x1F`, `0o17`,
 * underscores dropped). Dates stay strings (go-yaml keeps them so for untyped targets).
 */
const resolve = (s: string, l: Line, p: number): unknown => {
  if (/^(?:null|Null|NULL|~|)$/.test(s)) return null;
  if (/^(?:y|Y|yes|Yes|YES|true|True|TRUE|on|On|ON)$/.test(s)) return true;
  if (/^(?:n|N|no|No|NO|false|False|FALSE|off|Off|OFF)$/.test(s)) return false;
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
  if (s[0] === ".") return /^\.[0-9]+(?:[eE][-+]?[0-9]+)?$/.test(s) ? Number(s) : s;
  if (!/^[-+0-9]/.test(s)) return s;
  const plain = s.replaceAll("_", "");
  const int = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(plain);
  if (int !== null) {
    const digits = int[2] as string;
    const magnitude = BigInt(/^0[0-7]/.test(digits) ? `0o${digits.slice(1)}` : digits);
    const big = int[1] === "-" ? -magnitude : magnitude;
    const n = Number(big);
    // Exact, or a large double in its own shortest text (as JSON.stringify writes it): nothing lost.
    return Number.isFinite(n) && (BigInt(n) === big || String(n) === plain) ? n : fail(l, p, "an integer that a JavaScript number cannot hold exactly", "quote it if it is meant as a string");
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(plain)) return Number(plain);
  return s;
};

/** A plain scalar from `p` to `stop` (trailing spaces trimmed), and where it stopped. */
const scanPlain = (t: string, p: number, stop: RegExp): [string, number] => {
  stop.lastIndex = p;
  const end = stop.exec(t)?.index ?? t.length;
  let e = end;
  while (e > p && isSpace(t[e - 1])) e--;
  return [t.slice(p, e), end];
};

/** scanPlain, after rejecting what a plain scalar cannot start with. */
const plain = (l: Line, p: number, stop: RegExp): [string, number] => {
  const c = l.text[p] ?? "";
  const next = l.text[p + 1];
  if (c === "!") fail(l, p, "tags (!) are not supported in kubeconfig", "remove the tag, or quote the value if it is a string");
  if (c === "&" || c === "*") fail(l, p, "an anchor (&) or alias (*) where a key or the whole document starts", "anchors and aliases go on values: `key: &name value`, `key: *name`");
  const alone = next === undefined || isSpace(next) || (stop === FLOW_STOP && ",[]{}".includes(next));
  if (c === "" || ",[]{}#|>%@`".includes(c) || ("-?:".includes(c) && alone))
    fail(l, p, c === "" ? "a missing value" : `a plain value cannot start with ${JSON.stringify(c)}`, "quote the value; a nested mapping or sequence starts on the next line");
  return scanPlain(l.text, p, stop);
};

/** Folded block scalar lines: one break between two normal lines becomes a space; others are kept. */
const fold = (lines: readonly string[]): string => {
  let out = "";
  let breaks = 0;
  let prev: string | undefined;
  for (const line of lines) {
    if (line === "") breaks++;
    else {
      const folds = prev !== undefined && !isSpace(prev[0]) && !isSpace(line[0]);
      out += (prev === undefined ? "\n".repeat(breaks) : folds && breaks === 0 ? " " : "\n".repeat(folds ? breaks : breaks + 1)) + line;
      [prev, breaks] = [line, 0];
    }
  }
  return out;
};

const parseJson = (src: string): unknown => {
  try {
    return JSON.parse(src);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const before = src.slice(0, jsonErrorOffset(src)).split(/\r\n?|\n/);
    throw new YamlError(before.length, (before.at(-1)?.length ?? 0) + 1, `invalid JSON: ${message}`, "a kubeconfig starting with { or [ is read as JSON");
  }
};

const JSON_SPACE = /[ \t\n\r]*/y;
const JSON_ATOM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
const JSON_ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

/**
 * The offset of the first character of `src` that breaks JSON's grammar. Engines differ in saying
 * where JSON.parse gave up (V8 gives a position for most errors, JavaScriptCore in Bun never), so
 * the place is found here, the same on every runtime. Only called once JSON.parse has failed.
 */
const jsonErrorOffset = (src: string): number => {
  let p = 0;
  const match = (pattern: RegExp): boolean => {
    pattern.lastIndex = p;
    const found = pattern.test(src);
    if (found) p = pattern.lastIndex;
    return found;
  };
  const string = (): void => {
    p++; // the opening quote
    for (;;) {
      const c = src.charCodeAt(p); // NaN past the end
      if (c === 0x22) return void p++;
      if (!(c >= 0x20)) throw p;
      p++;
      if (c === 0x5c && !match(JSON_ESCAPE)) throw p;
    }
  };
  const value = (): void => {
    match(JSON_SPACE);
    const open = src[p];
    if (open === '"') return string();
    if (open !== "{" && open !== "[") {
      if (!match(JSON_ATOM)) throw p;
      return;
    }
    const close = open === "{" ? "}" : "]";
    p++;
    match(JSON_SPACE);
    if (src[p] === close) return void p++;
    for (;;) {
      if (open === "{") {
        match(JSON_SPACE);
        if (src[p] !== '"') throw p;
        string();
        match(JSON_SPACE);
        if (src[p] !== ":") throw p;
        p++;
      }
      value();
      match(JSON_SPACE);
      if (src[p] === close) return void p++;
      if (src[p] !== ",") throw p;
      p++;
    }
  };
  try {
    value();
    match(JSON_SPACE);
    return p;
  } catch (at) {
    return typeof at === "number" ? at : 0; // a RangeError from nesting deeper than the stack: say line 1
  }
};

const parseDocument = (src: string): unknown => {
  const raw = src.split(/\r\n?|\n/);
  const finalBreak = raw.at(-1) === "";
  if (finalBreak) raw.pop(); // the last line break ends the last line; it does not start another
  const lines: Line[] = raw.map((text, n) => ({ no: n + 1, text, start: /^ */.exec(text)![0].length }));
  let i = 0; // the first line not yet consumed
  let started = false; // content or `---` seen: another `---` would start a second document
  let ended = false; // `...` seen
  let depth = 0;
  const anchors = new Map<string, unknown>();
  /** Values that came from an alias (a list of them is no list of mappings to merge). */
  const aliased = new WeakSet<object>();
  let expanded = 0;

  /** The next line with content, past blank lines, comments and document markers. */
  const peek = (): Line | undefined => {
    for (; i < lines.length; i++) {
      const l = lines[i]!;
      const p = skipSpaces(l.text, l.start);
      if (p === l.text.length || l.text[p] === "#") continue;
      if (p !== l.start) fail(l, l.text.indexOf("\t", l.start), "a tab in indentation", "YAML allows only spaces for indentation");
      if (ended) fail(l, l.start, "content after the document end marker '...'", "a kubeconfig holds a single document");
      if (l.start === 0 && l.text[0] === "%") fail(l, 0, "a YAML directive", "directives are not supported in kubeconfig; remove the line");
      if (l.start === 0 && MARKER.test(l.text)) {
        if (l.text[0] === ".") ended = true;
        else if (started) fail(l, 0, "a second document", "a kubeconfig holds a single document");
        trailing(l, 3);
        started = true;
        continue;
      }
      started = true;
      return l;
    }
    return undefined;
  };

  /**
   * A quoted scalar from its opening quote at `p`, and the position after its closing quote on
   * line `lines[i]`. With `wrap` it may continue onto later lines, folded as YAML does (a break is a
   * space, an empty line a newline, `\` at the end of a line joins); without, an unclosed quote
   * gives undefined.
   */
  const quoted = (l: Line, p: number, wrap: boolean): [string, number] | undefined => {
    const q = l.text[p]!;
    const special = q === '"' ? /["\\]/g : /'/g;
    let line = l;
    let out = "";
    let from = p + 1;
    for (;;) {
      const t = line.text;
      special.lastIndex = from;
      const m = special.exec(t);
      if (m === null || (m[0] === "\\" && m.index === t.length - 1)) {
        if (!wrap) return undefined;
        let e = m?.index ?? t.length;
        if (m === null) while (e > from && isSpace(t[e - 1])) e--;
        out += t.slice(from, e);
        let breaks = 0;
        do {
          line = lines[++i] ?? fail(l, p, "a quoted string that is never closed", `add the closing ${q}`);
          breaks++;
        } while (skipSpaces(line.text, 0) === line.text.length);
        if (MARKER.test(line.text)) fail(line, 0, "a document marker inside a quoted string", `add the closing ${q}`);
        out += m === null && breaks === 1 ? " " : "\n".repeat(breaks - 1);
        from = skipSpaces(line.text, 0);
        continue;
      }
      out += t.slice(from, m.index);
      if (m[0] === q && (q === '"' || t[m.index + 1] !== "'")) return [out, m.index + 1];
      const e = t[m.index + 1]!;
      const width = HEX_ESCAPES.get(e);
      if (q === "'" || width === undefined) {
        // '' in a single-quoted string, or a one-character escape
        out += q === "'" ? "'" : (ESCAPES.get(e) ?? fail(line, m.index, `an unknown escape \\${e}`, "write a backslash as \\\\, or use single quotes"));
        from = m.index + 2;
        continue;
      }
      const hex = t.slice(m.index + 2, m.index + 2 + width);
      const code = /^[0-9a-fA-F]*$/.test(hex) && hex.length === width ? parseInt(hex, 16) : -1;
      if (code < 0 || code > 0x10ffff) fail(line, m.index, `an invalid escape \\${e}${hex}`, `\\${e} takes ${width} hex digits`);
      out += String.fromCodePoint(code);
      from = m.index + 2 + width;
    }
  };

  /** If `l` is a `key: ...` line, the key and the position after its colon. */
  const key = (l: Line): [string, number] | undefined => {
    const t = l.text;
    const p = l.start;
    if (isDash(t, p) || "|>[{".includes(t[p]!)) return undefined;
    const found = t[p] === '"' || t[p] === "'" ? quoted(l, p, false) : plain(l, p, BLOCK_STOP);
    if (found === undefined) return undefined;
    const q = skipSpaces(t, found[1]);
    return t[q] === ":" && (t[q + 1] === undefined || isSpace(t[q + 1])) ? [found[0], q + 1] : undefined;
  };

  /** The rest of a plain scalar wrapped onto lines indented more than `parent`, folded. */
  const continuation = (parent: number): string => {
    let out = "";
    let breaks = 0;
    for (let j = i; j < lines.length; j++) {
      const l = lines[j]!;
      const p = skipSpaces(l.text, 0);
      if (p === l.text.length) {
        breaks++;
        continue;
      }
      if (l.start <= parent || l.text[p] === "#" || MARKER.test(l.text)) break;
      const [s, end] = scanPlain(l.text, p, BLOCK_STOP);
      if (l.text[end] === ":") fail(l, end, "': ' inside a plain value", "quote the value, or check the indentation of this line");
      out += (breaks === 0 ? " " : "\n".repeat(breaks)) + s;
      breaks = 0;
      i = j + 1;
      if (end < l.text.length) break; // a comment ends the scalar
    }
    return out;
  };

  /** A literal (|) or folded (>) block scalar with its header at `p`; `parent` is its key's or dash's column. */
  const blockScalar = (l: Line, p: number, parent: number): string => {
    const header = /([|>])(?:([1-9])([-+]?)|([-+])([1-9]?))?/y;
    header.lastIndex = p;
    const [all, style, n1, c1, c2, n2] = header.exec(l.text)!;
    const chomp = c1 || c2;
    let indent = n1 || n2 ? parent + Number(n1 || n2) : -1; // else the first non-empty line's
    trailing(l, p + all.length);
    const body: string[] = [];
    let leading = 0; // the most spaces on an empty line before the indentation is known
    for (i++; i < lines.length; i++) {
      const { text, start } = lines[i]!;
      if (start === text.length) {
        if (indent < 0) leading = Math.max(leading, start);
        body.push(indent < 0 ? "" : text.slice(indent)); // spaces beyond the indentation are content
        continue;
      }
      if (indent < 0) indent = start > parent ? start : Infinity;
      if (leading > indent) fail(lines[i]!, start, "an empty line above has more spaces than this first line of the block", "remove the trailing spaces");
      if (start < indent) break;
      body.push(text.slice(indent));
    }
    let n = body.length;
    while (n > 0 && body[n - 1] === "") n--;
    const breaks = body.length - n + 1 - (body.length > 0 && i === lines.length && !finalBreak ? 1 : 0); // after the content
    if (n === 0) return chomp === "+" ? "\n".repeat(breaks - 1) : "";
    const content = style === ">" ? fold(body.slice(0, n)) : body.slice(0, n).join("\n");
    return content + (chomp === "+" ? "\n".repeat(breaks) : chomp === "-" || breaks === 0 ? "" : "\n");
  };

  /** `&name` or `*name` at `p`: the name, and the position after it. */
  const nameAt = (l: Line, p: number): [string, number] => {
    ANCHOR.lastIndex = p + 1;
    const name = ANCHOR.exec(l.text)?.[0] ?? "";
    const after = p + 1 + name.length;
    const c = l.text[after];
    if (name === "" || !(c === undefined || isSpace(c) || ",]}".includes(c)))
      fail(l, p, `an ${l.text[p] === "&" ? "anchor" : "alias"} without a valid name`, "anchor names are letters, digits, '-' and '_'");
    return [name, after];
  };

  /** The value an alias at `p` stands for, and the position after it. */
  const alias = (l: Line, p: number): [unknown, number] => {
    const [name, end] = nameAt(l, p);
    if (!anchors.has(name)) fail(l, p, `an alias to an unknown anchor *${name}`, "an anchor (&name) must come before its aliases (*name)");
    const v = anchors.get(name);
    // Each use counts in full, as if written out: a few lines must not expand to gigabytes.
    if ((expanded += sizeOf(v)) > MAX_EXPANDED) fail(l, p, "excessive aliasing", `aliases may stand for at most ${MAX_EXPANDED} values in all`);
    if (typeof v === "object" && v !== null) aliased.add(v);
    return [v, end];
  };

  /**
   * Merges `<<`'s value into `out` as go-yaml v2 (kubectl's reader) does: in document order, so a
   * key before `<<` is overwritten by the merge and one after it wins; in a list, earlier wins.
   */
  const merge = (l: Line, p: number, out: Record<string, unknown>, v: unknown): void => {
    const isMap = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
    const sources = Array.isArray(v) && !aliased.has(v) ? [...v].reverse() : [v];
    for (const source of sources) {
      if (!isMap(source)) fail(l, p, "a merge key (<<) whose value is not a mapping", "merge a mapping (<<: *name) or a list of them (<<: [*a, *b])");
      for (const [k, x] of Object.entries(source)) define(out, k, x);
    }
  };

  /**
   * A flow collection from its bracket at `p` on `l`, which may go on over later lines, and the
   * position after its closing bracket on `lines[i]`, the line it ends on. Scalars inside stay on
   * one line.
   */
  const flow = (l: Line, p: number): [unknown, number] => {
    if (++depth > MAX_DEPTH) fail(l, p, "nesting too deep", `more than ${MAX_DEPTH} levels`);
    let line = l;
    const open = l.text[p]!;
    const close = open === "[" ? "]" : "}";
    const list: unknown[] = [];
    const map: Record<string, unknown> = {};
    const keys = new Set<string>();
    /** Past spaces, comments and line breaks to the next character that counts. */
    const skip = (q: number): number => {
      for (;;) {
        q = skipSpaces(line.text, q);
        if (q < line.text.length && !(line.text[q] === "#" && (q === 0 || isSpace(line.text[q - 1])))) return q;
        line = lines[++i] ?? fail(l, p, `a ${open} that is never closed`, `add the closing ${close}`);
        if (MARKER.test(line.text)) fail(line, 0, `a document marker inside ${open} ${close}`, `add the closing ${close} before it`);
        q = 0;
      }
    };
    const item = (q: number, typed: boolean): [unknown, number] => {
      const t = line.text;
      if (t[q] === "&") {
        if (!typed) fail(line, q, "an anchor on a key", "anchors go on values");
        const [name, after] = nameAt(line, q);
        const [v, end] = item(skip(after), true);
        anchors.set(name, v);
        return [v, end];
      }
      if (t[q] === "*") return typed ? alias(line, q) : fail(line, q, "an alias as a key", "keys must be written out");
      if (t[q] === '"' || t[q] === "'") return quoted(line, q, false) ?? fail(line, q, "a quoted string not closed on its line", "inside [ ] or { } a quoted string stays on one line");
      if (t[q] === "[" || t[q] === "{") {
        if (!typed) fail(line, q, "a collection as a key", "keys must be strings");
        const found = flow(line, q);
        line = lines[i]!;
        return found;
      }
      const [s, end] = plain(line, q, FLOW_STOP);
      return [typed ? resolve(s, line, q) : s, end];
    };
    let q = skip(p + 1);
    while (line.text[q] !== close) {
      const plainKey = !"\"'".includes(line.text[q]!);
      const [first, end] = item(q, close === "]");
      q = skip(end);
      if (close === "]") list.push(first);
      else {
        const k = first as string;
        const at: [Line, number] = [line, q];
        if (line.text[q] !== ":") fail(line, q, "a key without ':'", "write {key: value, ...}");
        q = skip(q + 1);
        const [v, after] = line.text[q] === "," || line.text[q] === "}" ? [null, q] : item(q, true);
        if (k === "<<" && plainKey) merge(at[0], at[1], map, v);
        else {
          if (keys.has(k)) fail(at[0], at[1], `duplicate key ${JSON.stringify(k)}`, "each key may appear once");
          keys.add(k);
          define(map, k, v);
        }
        q = skip(after);
      }
      if (line.text[q] === ",") q = skip(q + 1);
      else if (line.text[q] !== close) fail(line, q, `expected ',' or '${close}'`, "quote values that contain , [ ] { } or ': '");
    }
    depth--;
    return [close === "]" ? list : map, q + 1];
  };

  /**
   * The node after `key:` or `- ` at `p`, with its anchor if it has one; `compact` lets a sequence
   * start at `parent`'s own column (kubectl's unindented `key:\n- item`).
   */
  const entry = (l: Line, p: number, parent: number, compact: boolean): unknown => {
    let anchor: string | undefined;
    if (l.text[p] === "&") {
      [anchor, p] = nameAt(l, p);
      p = skipSpaces(l.text, p);
    }
    let v: unknown;
    if (p < l.text.length && l.text[p] !== "#") {
      if (anchor !== undefined && key({ ...l, start: p }) !== undefined) fail(l, p, "an anchor on a key", "put the anchor on a line of its own, above the mapping");
      if (compact || anchor !== undefined || l.text[p] === "*") v = value(l, p, parent);
      else {
        l.start = p; // a compact sequence entry: the node starts after the dash
        v = node(l, parent);
      }
    } else {
      i++;
      const next = peek();
      v = compact && next !== undefined && next.start === parent && isDash(next.text, parent) ? sequence(parent) : block(parent);
    }
    if (anchor !== undefined) anchors.set(anchor, v);
    return v;
  };

  /** The value at `p` on `l` (after `key:` or `- `) and any lines it continues onto. */
  const value = (l: Line, p: number, parent: number): unknown => {
    const t = l.text;
    if (t[p] === "|" || t[p] === ">") return blockScalar(l, p, parent);
    if (t[p] === "*") {
      const [v, end] = alias(l, p);
      trailing(l, end);
      i++;
      return v;
    }
    if ("\"'[{".includes(t[p]!)) {
      const [v, end] = t[p] === "[" || t[p] === "{" ? flow(l, p) : quoted(l, p, true)!;
      trailing(lines[i]!, end); // a quoted string may have ended on a later line
      i++;
      return v;
    }
    const [s, end] = plain(l, p, BLOCK_STOP);
    if (t[end] === ":") fail(l, end, "': ' inside a plain value", "quote the value; a nested mapping starts on the next line");
    i++;
    return resolve(end < t.length ? s : s + continuation(parent), l, p);
  };

  /** What follows `key:` or `-` with nothing after it: the more-indented lines below, or null. */
  const block = (parent: number): unknown => {
    const l = peek();
    return l === undefined || l.start <= parent ? null : node(l, parent);
  };

  const mapping = (indent: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    const seen = new Map<string, number>();
    for (let l = peek(); l !== undefined && l.start >= indent; l = peek()) {
      if (l.start > indent) fail(l, l.start, "unexpected indentation", INDENTATION);
      const [k, after] = key(l) ?? fail(l, l.start, isDash(l.text, l.start) ? "a sequence item among mapping keys" : "expected 'key: value'", INDENTATION);
      const merges = k === "<<" && l.text[l.start] === "<";
      const first = seen.get(k);
      if (first !== undefined && !merges) fail(l, l.start, `duplicate key ${JSON.stringify(k)}`, `it is already on line ${first}`);
      seen.set(k, l.no);
      const v = entry(l, skipSpaces(l.text, after), indent, true);
      if (merges) merge(l, l.start, out, v);
      else define(out, k, v);
    }
    return out;
  };

  const sequence = (indent: number): unknown[] => {
    const out: unknown[] = [];
    for (let l = peek(); l !== undefined && l.start >= indent; l = peek()) {
      if (l.start > indent) fail(l, l.start, "unexpected indentation", INDENTATION);
      if (!isDash(l.text, indent)) break; // the next key of a mapping whose sequence this is
      const p = skipSpaces(l.text, indent + 1);
      const tab = l.text.indexOf("\t", indent);
      if (tab >= 0 && tab < p && p < l.text.length && l.text[p] !== "#") fail(l, tab, "a tab after '-'", "YAML allows only spaces for indentation");
      out.push(entry(l, p, indent, false));
    }
    return out;
  };

  /** The node starting at `l.start`; `parent` is the indentation of what contains it. */
  const node = (l: Line, parent: number): unknown => {
    if (++depth > MAX_DEPTH) fail(l, l.start, "nesting too deep", `more than ${MAX_DEPTH} levels`);
    const result = isDash(l.text, l.start) ? sequence(l.start) : key(l) !== undefined ? mapping(l.start) : value(l, l.start, parent);
    depth--;
    return result;
  };

  const first = peek();
  const root = first === undefined ? null : node(first, -1);
  const rest = peek();
  if (rest !== undefined) fail(rest, rest.start, "a line that does not fit the structure above it", INDENTATION);
  return root;
};

/**
 * Parses a kubeconfig file in YAML (the subset described above) or JSON.
 * @throws YamlError for anything outside the subset or malformed, with its line and column.
 */
export const parseYaml = (text: string): unknown => {
  const src = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (!/^\s*[[{]/.test(src)) return parseDocument(src);
  try {
    return JSON.parse(src);
  } catch {
    // Not JSON, but perhaps YAML's flow style (`{apiVersion: v1, ...}`), which kubectl reads too.
    try {
      return parseDocument(src);
    } catch {
      return parseJson(src); // neither: JSON's complaint, which fits a file that starts like JSON
    }
  }
};
