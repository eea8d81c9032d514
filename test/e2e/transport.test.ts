/**
 * Node's default transport (adapters/runtime/node.ts): a process that reaches the real API server
 * over it never loads undici (http2.test.ts shows it is HTTP/2 there: one connection); HTTP/1.1 through undici to an https server that
 * offers only HTTP/1.1 (a load balancer without h2), decided once, and to a plain http:// server
 * (`kubectl proxy`); `http2: true` there fails, saying why.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { http2Runtime, runtime } from "../../adapters/runtime/node.ts";
import { issueCert, makeCa } from "../cluster/pki.ts";
import { emulateInCluster, sandbox } from "./support.ts";

const listen = async (server: HttpServer): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
};

describe("the default transport against the real API server", () => {
  it("never loads undici (one request after inCluster, in a process of its own)", async () => {
    const box = await sandbox("transport");
    emulateInCluster();
    const entry = new URL("../../adapters/kubernetes/entry-node.js", import.meta.url).href;
    // The child reports what it loaded; require.cache holds undici once anything imported it (it is CommonJS).
    const program = `
      import { createRequire } from "node:module";
      const { inCluster } = await import(${JSON.stringify(entry)});
      const cluster = await inCluster({ serviceAccountDir: ${JSON.stringify(box.serviceAccountDir)} });
      const response = await cluster.fetch(cluster.server + "/version", { headers: { authorization: await cluster.credentials.authorization() } });
      await response.text();
      const undici = Object.keys(createRequire(import.meta.url).cache).some((k) => /[\\\\/]node_modules[\\\\/]undici[\\\\/]/.test(k));
      console.log(JSON.stringify({ status: response.status, undici }));`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", program], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => void (out += chunk));
    child.stderr.on("data", (chunk: Buffer) => void (out += chunk));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, out);
    assert.deepEqual(JSON.parse(out.trim().split("\n").at(-1)!), { status: 200, undici: false });
  });
});

describe("the default transport against servers without HTTP/2", () => {
  let ca: string;
  let cert: { certPem: string; keyPem: string };
  const servers: { close(): void; closeAllConnections?(): void }[] = [];
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenure-transport-"));
    const pair = await makeCa(dir, "ca", "tenure transport test CA");
    ca = await readFile(pair.certFile, "utf8");
    cert = await issueCert({ ca: pair, base: join(dir, "server"), commonName: "127.0.0.1", usage: "serverAuth", subjectAltName: "IP:127.0.0.1" });
  });
  after(() => servers.forEach((s) => (s.closeAllConnections?.(), s.close())));

  /** An https server that speaks only HTTP/1.1 (as node:https does), recording what each TLS handshake offered. */
  const http1Only = async (): Promise<{ url: string; offers: string[][]; requests: string[] }> => {
    const offers: string[][] = [];
    const requests: string[] = [];
    const server = createHttpsServer(
      {
        key: cert.keyPem,
        cert: cert.certPem,
        ALPNCallback: ({ protocols }: { protocols: string[] }) => (offers.push(protocols), protocols.includes("http/1.1") ? "http/1.1" : undefined),
      },
      (req, res) => {
        requests.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
        res.end("ok");
      },
    );
    servers.push(server);
    return { url: `https://127.0.0.1:${await listen(server)}`, offers, requests };
  };

  it("falls back to HTTP/1.1 for it: tries HTTP/2 once, sends nothing over it, and sends every request once", async () => {
    const server = await http1Only();
    const fetch = runtime.tlsFetch({ ca });
    const texts = async (n: number): Promise<string[]> => Promise.all(Array.from({ length: n }, (_, i) => fetch(`${server.url}/r${i}`, {}).then((r) => r.text())));
    assert.deepEqual(await texts(4), Array(4).fill("ok"));
    assert.deepEqual(await texts(4), Array(4).fill("ok"));
    assert.equal(server.offers.filter((o) => o.includes("h2")).length, 1, `one handshake offered h2: ${JSON.stringify(server.offers)}`);
    assert.equal(server.requests.length, 8, server.requests.join("\n"));
    assert.ok(server.requests.every((r) => r.endsWith("HTTP/1.1")));
  });

  it("http2: true fails there, saying the server did not offer HTTP/2 and to leave out the option", async () => {
    const server = await http1Only();
    const error = await http2Runtime.tlsFetch({ ca })(`${server.url}/`, {}).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof TypeError);
    assert.match(String((error.cause as Error).message), /did not offer HTTP\/2 .*ALPN: http\/1\.1.*leave out the http2 option/);
    assert.deepEqual(server.requests, []);
  });

  it("a plain http:// server (kubectl proxy) is sent HTTP/1.1", async () => {
    const seen: string[] = [];
    const server = createHttpServer((req, res) => (seen.push(req.httpVersion), res.end("plain")));
    servers.push(server);
    const port = await listen(server);
    assert.equal(await (await runtime.tlsFetch({})(`http://127.0.0.1:${port}/api`, {})).text(), "plain");
    assert.deepEqual(seen, ["1.1"]);
  });
});
