/**
 * Bun's default transport (run by the matrix on Bun; Node's is test/e2e/transport.test.ts): HTTP/2
 * through node:http2 to a server that offers it, HTTP/1.1 through Bun's fetch to one that does not.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { createSecureServer } from "node:http2";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runtime } from "../../adapters/runtime/bun.ts";
import { issueCert, makeCa } from "../cluster/pki.ts";

describe("Bun's default transport", () => {
  let ca: string;
  let cert: { certPem: string; keyPem: string };
  const servers: Server[] = [];
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), "tenure-bun-transport-"));
    const pair = await makeCa(dir, "ca", "tenure transport test CA");
    ca = await readFile(pair.certFile, "utf8");
    cert = await issueCert({ ca: pair, base: join(dir, "server"), commonName: "127.0.0.1", usage: "serverAuth", subjectAltName: "IP:127.0.0.1" });
  });
  after(() => servers.forEach((s) => s.close()));

  const listen = async (server: Server): Promise<string> => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const versions = async (url: string): Promise<string[]> => {
    const fetch = runtime.tlsFetch({ ca });
    const texts = (): Promise<string[]> => Promise.all([0, 1, 2].map((i) => fetch(`${url}/r${i}`, {}).then((r) => r.text())));
    return [...(await texts()), ...(await texts())];
  };

  it("speaks HTTP/2 to a server that offers it", async () => {
    const url = await listen(createSecureServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => res.end(req.httpVersion)) as unknown as Server);
    assert.deepEqual(await versions(url), Array(6).fill("2.0"));
  });

  it("falls back to HTTP/1.1 for a server whose handshake does not offer HTTP/2, and sends every request once", async () => {
    const seen: string[] = [];
    const url = await listen(createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => (seen.push(req.url ?? ""), res.end(req.httpVersion))));
    assert.deepEqual(await versions(url), Array(6).fill("1.1"));
    assert.deepEqual(seen.sort(), ["/r0", "/r0", "/r1", "/r1", "/r2", "/r2"]);
  });
});
