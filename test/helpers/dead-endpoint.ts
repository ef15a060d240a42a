import { createServer, type Socket } from 'node:net';

/**
 * Takes a stopped server's place on its endpoint and counts the connections it gets (one
 * per attempt a client makes). `reset` answers each with a TCP reset, as an endpoint with
 * nothing healthy behind it does; `hang` accepts and never answers, as a partitioned
 * network or a stuck server looks to the client.
 *
 * @example
 * await api.database.stop();
 * const dead = await deadEndpoint(api.database.endpoint, 'hang');
 * // ... requests ...
 * dead.connections(); // => 6
 * await dead.close();
 */
export const deadEndpoint = async (endpoint: string, mode: 'reset' | 'hang') => {
  const { hostname, port } = new URL(endpoint);
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'reset') socket.resetAndDestroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), hostname, resolve);
  });
  return {
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};
