import { mkdir } from 'node:fs/promises';
import { Server as HttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { type Config, loadConfig, setConfig } from '#runtime/config.ts';
import type { LocalConfig } from './config.ts';
import { startLocalApi } from './server.ts';

/** The embedded DynamoDB on its own, so fault tests can take it down and bring it back. */
export interface LocalDatabase {
  endpoint: string;
  /** Stops answering at once: in-flight requests are cut, new connections refused (a dead endpoint). */
  stop: () => Promise<void>;
  /** Listens again on the same endpoint (the functions' clients keep theirs), with the same tables. */
  start: () => Promise<void>;
}

export interface LocalStack {
  url: string;
  dynamoEndpoint: string;
  database: LocalDatabase;
  config: Config;
  close: () => Promise<void>;
}

const listen = (server: Server, port: number, host: string): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

/** Starts dynalite on loopback; `memory` keeps nothing, a folder persists the tables. */
export const startDynalite = async (
  dataDir: string,
  host = '127.0.0.1',
): Promise<LocalDatabase & { close: () => Promise<void> }> => {
  if (dataDir !== 'memory') await mkdir(dataDir, { recursive: true });
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(dataDir === 'memory' ? {} : { path: dataDir }),
  });
  await listen(server, 0, host);
  const { port } = server.address() as AddressInfo;
  let running = true;
  return {
    endpoint: `http://${host}:${port}`,
    stop: async () => {
      if (!running) return;
      running = false;
      // http.Server's own close, not dynalite's: that one also closes its store, and the
      // operations still running then throw inside dynalite. An outage takes the network
      // away and keeps the data. Cutting every socket makes it a crash as clients see it.
      const closed = new Promise<void>((resolve) => HttpServer.prototype.close.call(server, () => resolve()));
      server.closeAllConnections();
      await closed;
    },
    start: async () => {
      if (running) return;
      await listen(server, port, host);
      running = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/**
 * Everything `npm start` runs, in one call (the integration tests call it too):
 * dynalite with the prediction and result cache tables, the functions' configuration pointed at it,
 * and the API Gateway emulator.
 */
export const startLocalStack = async (
  local: LocalConfig,
  env: Record<string, string | undefined> = process.env,
): Promise<LocalStack> => {
  const db = await startDynalite(local.LOCAL_DATA_DIR, local.HOST);
  const config = loadConfig({ ...env, DYNAMODB_ENDPOINT: db.endpoint });
  // The handlers read the configuration when first imported, which happens after this.
  setConfig(config);
  const tables = makeDocumentClient(config);
  await ensureLocalTables(tables, config);
  const api = await startLocalApi({
    port: local.PORT,
    host: local.HOST,
    apiKeys: local.LOCAL_API_KEY.split(',')
      .map((k) => k.trim())
      .filter(Boolean),
    rate: local.LOCAL_RATE_LIMIT,
    burst: local.LOCAL_BURST,
    timeoutMs: local.LOCAL_TIMEOUT_MS,
  });
  return {
    url: api.url,
    dynamoEndpoint: db.endpoint,
    database: { endpoint: db.endpoint, stop: db.stop, start: db.start },
    config,
    close: async () => {
      await api.close();
      await db.close();
    },
  };
};
