/**
 * A TCP proxy on 127.0.0.1 in front of the API server that can be cut like a network: once cut,
 * open connections go silent (nothing passes either way, nothing is closed: a watch stream just
 * stops) and new ones are accepted and never answered. Healing resets the silent connections, as
 * a peer does when a path comes back, and forwards again. TLS passes through untouched.
 */
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  /** `https://127.0.0.1:PORT`: the API server, through the proxy. */
  readonly url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export const tcpProxy = async (target: string): Promise<TcpProxy> => {
  const { hostname, port } = new URL(target);
  let cut = false;
  const live = new Set<readonly [Socket, Socket]>();
  const silent = new Set<Socket>();
  const hold = (socket: Socket): void => {
    socket.pause();
    silent.add(socket);
  };
  const server = createServer((client) => {
    client.on("error", () => {});
    if (cut) return hold(client);
    const upstream = connect(Number(port), hostname);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    const pair = [client, upstream] as const;
    live.add(pair);
    const forget = (): void => void live.delete(pair);
    client.once("close", () => (forget(), upstream.destroy()));
    upstream.once("close", () => (forget(), client.destroy()));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `https://127.0.0.1:${address.port}`,
    cut: () => {
      cut = true;
      for (const pair of live) {
        const [client, upstream] = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        hold(client);
        hold(upstream);
      }
      live.clear();
    },
    heal: () => {
      cut = false;
      for (const socket of silent) socket.destroy();
      silent.clear();
    },
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of silent) socket.destroy();
      for (const [client, upstream] of live) (client.destroy(), upstream.destroy());
      await closed;
    },
  };
};
