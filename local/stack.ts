import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { type Config, listOf, loadConfig, setConfig } from '#runtime/config.ts';
import type { LocalConfig } from './config.ts';
import { startLocalApi } from './server.ts';

export interface LocalStack {
  url: string;
  dynamoEndpoint: string;
  config: Config;
  close: () => Promise<void>;
}

/** Starts dynalite on loopback; `memory` keeps nothing, a folder persists the tables. */
export const startDynalite = async (
  dataDir: string,
  host = '127.0.0.1',
): Promise<{ endpoint: string; close: () => Promise<void> }> => {
  if (dataDir !== 'memory') await mkdir(dataDir, { recursive: true });
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(dataDir === 'memory' ? {} : { path: dataDir }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
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
    apiKeys: listOf(local.LOCAL_API_KEY),
    rate: local.LOCAL_RATE_LIMIT,
    burst: local.LOCAL_BURST,
    timeoutMs: local.LOCAL_TIMEOUT_MS,
    corsOrigins: listOf(config.CORS_ORIGINS),
  });
  return {
    url: api.url,
    dynamoEndpoint: db.endpoint,
    config,
    close: async () => {
      await api.close();
      await db.close();
    },
  };
};
