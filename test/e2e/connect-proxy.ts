/**
 * A real HTTP CONNECT proxy on 127.0.0.1, as a corporate proxy is: it resolves names itself (here
 * from a table, so that a name no DNS knows reaches the test cluster), may require Basic
 * credentials, and records every tunnel it opened. TLS passes through it untouched.
 */
import { createServer, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `host:port` of each CONNECT, with the Proxy-Authorization it carried. */
  readonly tunnels: { readonly target: string; readonly authorization: string | undefined }[];
  close(): Promise<void>;
}

export const connectProxy = async (hosts: Readonly<Record<string, string>>, credentials?: string): Promise<ConnectProxy> => {
  const tunnels: ConnectProxy["tunnels"] = [];
  const open = new Set<Socket>();
  const server = createServer((_, response) => response.writeHead(405).end("CONNECT only"));
  server.on("connect", (request: IncomingMessage, client: Socket, head: Buffer) => {
    const target = request.url ?? "";
    const authorization = request.headers["proxy-authorization"];
    tunnels.push({ target, authorization });
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    if (credentials !== undefined && authorization !== `Basic ${Buffer.from(credentials).toString("base64")}`) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      return;
    }
    const at = target.lastIndexOf(":");
    const host = target.slice(0, at).replace(/^\[|\]$/g, "");
    const upstream = connect(Number(target.slice(at + 1)), hosts[host] ?? host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    open.add(upstream);
    upstream.on("close", () => open.delete(upstream));
    upstream.on("error", () => client.end("HTTP/1.1 502 Bad Gateway\r\n\r\n"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    tunnels,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};
