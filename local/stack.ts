import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Server as HttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { type Capability, ROUTES } from '#functions/routes.ts';
import { syncKeyMirror } from '#http/key-mirror.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { type Config, listOf, loadConfig, setConfig } from '#runtime/config.ts';
import { ConfigurationError } from '#runtime/errors.ts';
import { BENCH_NOOP } from './bench-noop.ts';
import type { LocalConfig } from './config.ts';
import { startImportPoller } from './imports.ts';
import { InstancePool } from './instances.ts';
import { captureEmf, captureRecords, instrumentHandler, observeRequest, printAs } from './metrics.ts';
import { localPages } from './pages.ts';
import { isRecordsLine, LocalRecordFeed } from './records.ts';
import { defaultLoadHandler, type LocalFunction, localKeys, startLocalApi } from './server.ts';

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
  /** The instance pool of each function started so far (LOCAL_FUNCTION_CONCURRENCY > 0). */
  pools: Map<Capability, InstancePool>;
  /** The local ingestion of prediction records (the subscription filter's twin, `local/records.ts`). */
  records: LocalRecordFeed;
  close: () => Promise<void>;
}

/** The project root: the emulator always runs from its sources (local/), whatever the cwd. */
const ROOT = path.resolve(import.meta.dirname, '..');

/** The handler module of a function: its source, or its `npm run build` bundle. */
const functionEntry = (root: string, fn: Capability, code: LocalConfig['LOCAL_FUNCTION_CODE']): string => {
  const entry =
    code === 'dist'
      ? path.join(root, 'dist/functions', fn, 'handler.mjs')
      : path.join(root, 'functions', fn, 'handler.ts');
  if (!existsSync(entry)) {
    throw new ConfigurationError(
      `LOCAL_FUNCTION_CODE=${code}: ${entry} is missing${code === 'dist' ? '; run `npm run build` first' : ''}.`,
    );
  }
  return entry;
};

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
 * The key-sync function's work, locally: the key table the body-keyed routes check
 * (functions/body-key.ts) made equal to the emulator's keys, by the same `syncKeyMirror`.
 */
export const mirrorLocalKeys = (
  client: DynamoDBDocumentClient,
  c: Pick<Config, 'API_KEYS_TABLE'>,
  local: Pick<LocalConfig, 'LOCAL_API_KEY' | 'LOCAL_RATE_LIMIT' | 'LOCAL_BURST'>,
) =>
  syncKeyMirror(
    client,
    c.API_KEYS_TABLE,
    localKeys(listOf(local.LOCAL_API_KEY), local.LOCAL_RATE_LIMIT, local.LOCAL_BURST),
  );

/** ONNX Runtime threads of each of `concurrency` instances sharing this machine's cores (at least 1). */
export const onnxThreadsPerInstance = (concurrency: number): number =>
  Math.max(1, Math.floor(os.availableParallelism() / concurrency));

/**
 * Everything `npm start` runs, in one call (the integration tests call it too):
 * dynalite with the prediction and result cache tables, the functions' configuration pointed at it,
 * and the API Gateway emulator with the local pages (playground, docs, metrics view) and
 * the metrics those read (the handlers' EMF, and what Lambda and API Gateway would record).
 * With LOCAL_FUNCTION_CONCURRENCY > 0 the functions run in instance processes, whose EMF
 * lines reach the same collector through their piped stdout.
 */
export const startLocalStack = async (
  local: LocalConfig,
  env: Record<string, string | undefined> = process.env,
  options: {
    /** Where instance processes write logs and EMF (the benchmarks discard them). */ instanceOutput?:
      | 'collect'
      | 'ignore';
    /** The endpoint the functions reach dynalite at, given its own (a benchmark's delay proxy). */
    databaseEndpoint?: (endpoint: string) => Promise<string>;
    /**
     * Also serve the request-path bench's no-op function (`POST /bench/noop`,
     * `local/bench-noop.ts`), in this process whatever LOCAL_FUNCTION_CONCURRENCY says.
     */
    benchNoop?: boolean;
  } = {},
): Promise<LocalStack> => {
  const { MODEL_BUCKET, MODELS_DIR } = loadConfig(env);
  // Without a bucket, MODELS_DIR is the registry: a wrong path would answer every request "unknown model".
  if (MODEL_BUCKET === undefined && !existsSync(MODELS_DIR)) {
    throw new ConfigurationError(
      `MODELS_DIR=${MODELS_DIR} does not exist: set MODELS_DIR to a folder of model bundles (<name>/<version>/), e.g. the default test/fixtures/models, or MODEL_BUCKET to an S3 registry.`,
    );
  }
  const db = await startDynalite(local.LOCAL_DATA_DIR, local.HOST);
  const endpoint = options.databaseEndpoint ? await options.databaseEndpoint(db.endpoint) : db.endpoint;
  // The functions share this machine's cores (one process, or instance processes): no busy-waiting ONNX threads.
  env = { ONNX_SPINNING: 'false', ...env };
  const config = loadConfig({ ...env, DYNAMODB_ENDPOINT: endpoint });
  // The handlers read the configuration when first imported, which happens after this.
  setConfig(config);
  const tables = makeDocumentClient(config);
  await ensureLocalTables(tables, config);
  await mirrorLocalKeys(tables, config, local);
  const metrics = captureEmf({ echo: local.LOCAL_EMF_ECHO });
  // Imported after setConfig: the ingester's logger reads the configuration when loaded.
  const { makeRecordIngester } = await import('#predictions/ingest.ts');
  const ingester = makeRecordIngester(config);
  const records = new LocalRecordFeed(
    (lines) => ingester.ingest(lines),
    (error) => console.error('local record ingestion failed', error),
  );
  // Every records line the functions print, in this process or an instance's, goes to it.
  captureRecords((line) => records.add(line));
  // The import jobs table's stream (dynalite has none): queued jobs run the import function here.
  const imports = startImportPoller(config, (error) => console.error('local import failed', error));
  const pages = localPages({ routes: ROUTES, metrics, appNamespace: config.METRICS_NAMESPACE });
  const pools = new Map<Capability, InstancePool>();
  const poolOf = (fn: Capability): InstancePool => {
    let pool = pools.get(fn);
    if (!pool) {
      pool = new InstancePool({
        fn,
        size: local.LOCAL_FUNCTION_CONCURRENCY,
        entry: functionEntry(ROOT, fn, local.LOCAL_FUNCTION_CODE),
        env: {
          // Each Lambda instance has vCPUs of its own; here the instances share the machine's.
          ONNX_THREADS: String(onnxThreadsPerInstance(local.LOCAL_FUNCTION_CONCURRENCY)),
          // Each instance is a cold start, which Powertools reports (ColdStart) under this value only.
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
          ...env,
          DYNAMODB_ENDPOINT: endpoint,
        },
        timeoutMs: local.LOCAL_TIMEOUT_MS,
        // An instance's stdout is its CloudWatch log stream: EMF lines feed the metrics view.
        // Records lines are ingested even when the rest is discarded.
        onStdout:
          options.instanceOutput === 'ignore'
            ? (line) => {
                if (isRecordsLine(line)) records.add(line);
              }
            : (line) => printAs(fn, line),
      });
      pools.set(fn, pool);
    }
    return pool;
  };
  const loadHandler = async (fn: LocalFunction) =>
    local.LOCAL_FUNCTION_CONCURRENCY > 0 && fn !== BENCH_NOOP
      ? poolOf(fn).handler(ROUTES.some((r) => r.fn === fn && r.streaming))
      : defaultLoadHandler(fn);
  const api = await startLocalApi({
    port: local.PORT,
    host: local.HOST,
    apiKeys: listOf(local.LOCAL_API_KEY),
    rate: local.LOCAL_RATE_LIMIT,
    burst: local.LOCAL_BURST,
    timeoutMs: local.LOCAL_TIMEOUT_MS,
    corsOrigins: listOf(config.CORS_ORIGINS),
    benchNoop: options.benchNoop ?? false,
    loadHandler: async (fn) =>
      instrumentHandler(fn, await loadHandler(fn), metrics, {
        namespace: config.METRICS_NAMESPACE,
        service: config.SERVICE_NAME,
        ownColdStarts: local.LOCAL_FUNCTION_CONCURRENCY > 0,
      }),
    intercept: pages,
    onRequest: (res, route, method) => observeRequest(res, route, method, metrics),
  }).catch(async (error: NodeJS.ErrnoException) => {
    await imports.close();
    await db.close();
    if (error.code !== 'EADDRINUSE') throw error;
    throw new ConfigurationError(
      `Port ${local.PORT} on ${local.HOST} is already in use: stop what is listening there, or pick another port with PORT=<port> (PORT=0 takes a free one).`,
      { cause: error },
    );
  });
  return {
    url: api.url,
    dynamoEndpoint: db.endpoint,
    database: { endpoint: db.endpoint, stop: db.stop, start: db.start },
    config,
    pools,
    records,
    close: async () => {
      await api.close();
      await Promise.all([...pools.values()].map((p) => p.close()));
      await imports.close();
      await records.settled();
      captureRecords(undefined);
      await db.close();
    },
  };
};
