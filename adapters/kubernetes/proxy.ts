/**
 * Which proxy client-go uses for a server: the cluster's `proxy-url` when the kubeconfig sets one
 * (always, whatever the host), else the environment by Go's `http.ProxyFromEnvironment`:
 * `HTTPS_PROXY` (or `https_proxy`) for an https server, `HTTP_PROXY` for http, none for
 * `localhost` and loopback addresses, none for hosts that `NO_PROXY` names (`*`; an IP, with or
 * without port; a CIDR; a domain and its subdomains, `.domain` and `*.domain` its subdomains only).
 *
 * @module
 */

/** The proxy URL schemes client-go accepts. */
export const PROXY_SCHEMES: readonly string[] = ["http:", "https:", "socks5:"];

export interface ProxyChoice {
  /** The proxy to go through; undefined: straight to the server. */
  readonly proxy: URL | undefined;
  /** Where it came from, for messages: `proxy-url`, `HTTPS_PROXY`, ... */
  readonly from: string | undefined;
  /** Set when the environment names a proxy that Go's rules do not use for this server, and why. */
  readonly bypassed?: { readonly from: string; readonly why: string };
}

type Env = (name: string) => string | undefined;

const envAny = (env: Env, ...names: string[]): [string, string] | undefined => {
  for (const name of names) {
    const value = env(name);
    if (value) return [name, value];
  }
  return undefined;
};

/** Go's parseProxy: a value without a scheme (`proxy:3128`) is an http proxy. */
const parseProxy = (value: string): URL | undefined => {
  try {
    const url = new URL(value);
    if (url.host !== "") return url;
  } catch {
    // falls through to the http:// reading
  }
  try {
    return new URL(`http://${value}`);
  } catch {
    return undefined;
  }
};

/** 4 bytes for IPv4 (also IPv4 in IPv6), 16 for IPv6; undefined when `s` is no IP address. */
export const parseIp = (s: string): number[] | undefined => {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4 !== null) {
    const bytes = v4.slice(1).map(Number);
    return v4.slice(1).some((part) => part.length > 1 && part.startsWith("0")) || bytes.some((b) => b > 255) ? undefined : bytes;
  }
  if (!s.includes(":")) return undefined;
  let canonical: string;
  try {
    canonical = new URL(`http://[${s}]`).hostname.slice(1, -1); // hex groups only, `::` at most once
  } catch {
    return undefined;
  }
  const [head = "", tail] = canonical.split("::");
  const groups = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  const bytes = all.flatMap((g) => [g >> 8, g & 255]);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255;
  return mapped ? bytes.slice(12) : bytes;
};

const sameIp = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, n) => x === b[n]);

const inCidr = (ip: number[], cidr: string): boolean | undefined => {
  const slash = cidr.indexOf("/");
  if (slash < 0) return undefined;
  const net = parseIp(cidr.slice(0, slash));
  const bits = cidr.slice(slash + 1);
  if (net === undefined || !/^\d{1,3}$/.test(bits) || Number(bits) > net.length * 8) return undefined;
  if (net.length !== ip.length) return false;
  for (let bit = 0; bit < Number(bits); bit++) {
    const mask = 0x80 >> bit % 8;
    if ((net[bit >> 3]! & mask) !== (ip[bit >> 3]! & mask)) return false;
  }
  return true;
};

/** `host:port` or `[v6]:port` split as Go's net.SplitHostPort; undefined when there is no port. */
const splitHostPort = (s: string): [string, string] | undefined => {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(s) ?? /^([^:[\]]*):([^:]*)$/.exec(s);
  return m === null ? undefined : [m[1]!, m[2]!];
};

/** Whether NO_PROXY (`noProxy`) names `host` (lower case, no brackets) at `port`. */
export const noProxyMatches = (noProxy: string, host: string, port: string): boolean => {
  const ip = parseIp(host);
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return true;
    if (ip !== undefined) {
      const within = inCidr(ip, entry);
      if (within !== undefined) {
        if (within) return true;
        continue;
      }
    } else if (inCidr([0, 0, 0, 0], entry) !== undefined) continue; // a CIDR never names a host name
    const split = splitHostPort(entry);
    if (split !== undefined && split[0] === "") continue;
    let [name, entryPort] = split ?? [entry, ""];
    const entryIp = parseIp(name);
    if (entryIp !== undefined) {
      if (ip !== undefined && sameIp(ip, entryIp) && (entryPort === "" || entryPort === port)) return true;
      continue;
    }
    if (ip !== undefined) continue; // domain entries never match an address
    if (name.startsWith("*.")) name = name.slice(1);
    const exact = !name.startsWith(".");
    const suffix = exact ? `.${name}` : name;
    if ((host.endsWith(suffix) || (exact && host === name)) && (entryPort === "" || entryPort === port)) return true;
  }
  return false;
};

/** The proxy for `server`, by the cluster's `proxy-url` or else the environment, as client-go chooses. */
export const chooseProxy = (server: URL, proxyUrl: string | undefined, env: Env): ProxyChoice => {
  if (proxyUrl) {
    const proxy = parseProxy(proxyUrl);
    return { proxy, from: "proxy-url" };
  }
  const found = server.protocol === "https:" ? envAny(env, "HTTPS_PROXY", "https_proxy") : server.protocol === "http:" ? envAny(env, "HTTP_PROXY", "http_proxy") : undefined;
  if (found === undefined) return { proxy: undefined, from: undefined };
  const [from, value] = found;
  const host = server.hostname.replace(/^\[|\]$/g, "");
  const port = server.port || (server.protocol === "https:" ? "443" : "80");
  const ip = parseIp(host);
  if (host === "localhost" || (ip !== undefined && (ip.length === 4 ? ip[0] === 127 : sameIp(ip, [...Array(15).fill(0), 1])))) {
    return { proxy: undefined, from: undefined, bypassed: { from, why: `Go never proxies localhost or a loopback address` } };
  }
  const noProxy = envAny(env, "NO_PROXY", "no_proxy");
  if (noProxy !== undefined && noProxyMatches(noProxy[1], host, port)) {
    return { proxy: undefined, from: undefined, bypassed: { from, why: `${noProxy[0]} names it` } };
  }
  return { proxy: parseProxy(value), from };
};
