/**
 * A real HTTP CONNECT proxy on 127.0.0.1, as a corporate proxy is: it resolves names itself (here
 * from a table, so that a name no DNS knows reaches the test cluster), may require Basic
 * credentials, and records every tunnel it opened. TLS passes through it untouched. Written on
 * node:net alone, so that the same proxy runs under Node, Deno and Bun.
 */
import { Buffer } from "node:buffer";
import { connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `host:port` of each CONNECT, with the Proxy-Authorization it carried. */
  readonly tunnels: { readonly target: string; readonly authorization: string | undefined }[];
  close(): Promise<void>;
}

/** The request head, once complete: `CONNECT target HTTP/1.1` and headers (lower-case names). */
const head = (text: string): { method: string; target: string; headers: Map<string, string> } | undefined => {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) return undefined;
  const [line = "", ...rest] = text.slice(0, end).split("\r\n");
  const [method = "", target = ""] = line.split(" ");
  const headers = new Map(rest.map((h) => [h.slice(0, h.indexOf(":")).trim().toLowerCase(), h.slice(h.indexOf(":") + 1).trim()] as const));
  return { method, target, headers };
};

/** The sockets a proxy has open, so that closing it can end them all. */
const sockets = (): { readonly open: Set<Socket>; readonly track: (socket: Socket) => void } => {
  const open = new Set<Socket>();
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.on("close", () => open.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  return { open, track };
};

/** With `tls`, an https proxy: the CONNECT itself inside TLS to the proxy. */
export const connectProxy = async (hosts: Readonly<Record<string, string>>, credentials?: string, tls?: { cert: string; key: string }): Promise<ConnectProxy> => {
  const tunnels: ConnectProxy["tunnels"] = [];
  const { open, track } = sockets();
  const handle = (client: Socket): void => {
    track(client);
    let received = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const request = head(received.toString("latin1"));
      if (request === undefined) return;
      client.off("data", onData);
      client.pause();
      const authorization = request.headers.get("proxy-authorization");
      tunnels.push({ target: request.target, authorization });
      if (request.method !== "CONNECT") return void client.end("HTTP/1.1 405 Method Not Allowed\r\n\r\n");
      if (credentials !== undefined && authorization !== `Basic ${Buffer.from(credentials).toString("base64")}`) {
        return void client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      }
      const at = request.target.lastIndexOf(":");
      const host = request.target.slice(0, at).replace(/^\[|\]$/g, "");
      const rest = received.subarray(received.indexOf("\r\n\r\n") + 4);
      const upstream = connect(Number(request.target.slice(at + 1)), hosts[host] ?? host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        if (rest.length > 0) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      track(upstream);
      upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
    };
    client.on("data", onData);
  };
  const server: Server = tls === undefined ? createServer(handle) : createTlsServer(tls, handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `${tls === undefined ? "http" : "https"}://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};

/**
 * A SOCKS5 proxy (RFC 1928, no authentication) on 127.0.0.1 with the same name table: client-go
 * sends the host name to a socks5 proxy and lets it resolve, as this one does.
 */
export const socksProxy = async (hosts: Readonly<Record<string, string>>): Promise<ConnectProxy> => {
  const tunnels: ConnectProxy["tunnels"] = [];
  const { open, track } = sockets();
  const server = createServer((client) => {
    track(client);
    let received = Buffer.alloc(0);
    let greeted = false;
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (!greeted) {
        if (received.length < 2 || received.length < 2 + received[1]!) return;
        if (received[0] !== 5) return void client.destroy();
        received = received.subarray(2 + received[1]!);
        greeted = true;
        client.write(Buffer.from([5, 0])); // no authentication
      }
      // VER CMD RSV ATYP ADDR PORT
      if (received.length < 5) return;
      const type = received[3];
      const length = type === 1 ? 4 : type === 4 ? 16 : type === 3 ? 1 + received[4]! : -1;
      if (length < 0 || received[1] !== 1) return void client.end(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
      if (received.length < 4 + length + 2) return;
      const address = received.subarray(4, 4 + length);
      const host = type === 3 ? address.subarray(1).toString("latin1") : type === 1 ? [...address].join(".") : [...Array(8).keys()].map((n) => address.readUInt16BE(n * 2).toString(16)).join(":");
      const port = received.readUInt16BE(4 + length);
      const rest = received.subarray(4 + length + 2);
      client.off("data", onData);
      client.pause();
      tunnels.push({ target: `${type === 4 ? `[${host}]` : host}:${port}`, authorization: undefined });
      const upstream = connect(port, hosts[host] ?? host, () => {
        client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        if (rest.length > 0) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
        client.resume();
      });
      track(upstream);
      upstream.on("error", () => client.end(Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0])));
    };
    client.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `socks5://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};
