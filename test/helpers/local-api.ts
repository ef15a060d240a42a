import { paginateScan, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { loadLocalConfig } from '#local/config.ts';
import { apiKeyIdOf, type startLocalApi } from '#local/server.ts';
import { type LocalStack, startLocalStack } from '#local/stack.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { hashApiKeyId } from '#predictions/log.ts';
import { tempDir } from './bundles.ts';

export const TEST_KEY = 'test-key';
/** A key on a tight usage-plan tier: 1 request/s, burst 2. */
export const SLOW_KEY = 'slow-key';
/** ADMIN_API_KEY_HASHES naming these keys as the stage's admin keys. */
export const adminKeyHashes = (...keys: string[]): string => keys.map((k) => hashApiKeyId(apiKeyIdOf(k))).join(',');

/**
 * Starts the local API exactly as `npm start` does (dynalite in memory, a fresh model
 * cache folder, loopback, a random port). `env` is the functions' environment, `local`
 * the emulator's (local/config.ts).
 */
/** The test API's keys, as LOCAL_API_KEY lists them (`key:rate:burst`). */
export const TEST_API_KEYS = `${TEST_KEY}:1000:1000,${SLOW_KEY}:1:2`;

/** `startLocalApi`'s options for the emulator alone on loopback (no stack): one key, `k`, far from its throttle. */
export const EMULATOR_OPTIONS = {
  port: 0,
  host: '127.0.0.1',
  apiKeys: ['k'],
  rate: 100,
  burst: 100,
} as const satisfies Partial<Parameters<typeof startLocalApi>[0]>;

export const startTestApi = async (
  env: Record<string, string> = {},
  local: Record<string, string> = {},
): Promise<LocalStack> =>
  startLocalStack(
    loadLocalConfig({
      PORT: '0',
      LOCAL_API_KEY: TEST_API_KEYS,
      LOCAL_DATA_DIR: 'memory',
      ...local,
    }),
    // TEST_KEY is an admin key (every key's analytics and status activity), as the tests have always read them.
    {
      ...process.env,
      MODEL_CACHE_DIR: await tempDir('api-cache'),
      ADMIN_API_KEY_HASHES: adminKeyHashes(TEST_KEY),
      ...env,
    },
  );

/** POSTs JSON with the test key; returns status, headers and parsed body. */
export const post = async (api: LocalStack, path: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, unknown> & { error?: Record<string, unknown> },
  };
};

export const get = async (
  api: LocalStack,
  path: string,
  headers: Record<string, string> = { 'x-api-key': TEST_KEY },
) => {
  const res = await fetch(`${api.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
};

/** How long a test waits for records to reach the table (the ingestion runs after the answer). */
const RECORDS_WAIT_MS = 10_000;
const POLL_MS = 20;

/**
 * Every prediction record of one request, through the `byRequest` index, once ingested:
 * records travel as log lines and reach the table after the answer (docs/prediction-log.md),
 * so this waits for the local ingestion to settle and polls until `atLeast` records are
 * there (1 by default; 0 reads once), for at most 10 s; then returns what is there.
 */
export const recordsOf = async (
  api: LocalStack,
  requestId: string,
  { atLeast = 1 }: { atLeast?: number } = {},
): Promise<Record<string, unknown>[]> => {
  const client = makeDocumentClient(api.config);
  const deadline = Date.now() + RECORDS_WAIT_MS;
  for (;;) {
    await api.records.settled();
    const out = await client.send(
      new QueryCommand({
        TableName: api.config.PREDICTIONS_TABLE,
        IndexName: 'byRequest',
        KeyConditionExpression: 'requestId = :r',
        ExpressionAttributeValues: { ':r': requestId },
      }),
    );
    const items = (out.Items ?? []).sort((a, b) => Number(a.index) - Number(b.index));
    if (items.length >= atLeast || Date.now() >= deadline) return items;
    // An instance process's line may still be in its stdout pipe: look again shortly.
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
};

/** Every item of one of the stack's tables once the records printed so far are ingested (a Scan, page by page: tests only). */
export const scanTable = async (api: LocalStack, table: string): Promise<Record<string, unknown>[]> => {
  // The records lines printed so far are ingested first (see recordsOf).
  await api.records.settled();
  const items: Record<string, unknown>[] = [];
  for await (const page of paginateScan({ client: makeDocumentClient(api.config) }, { TableName: table })) {
    items.push(...(page.Items ?? []));
  }
  return items;
};
