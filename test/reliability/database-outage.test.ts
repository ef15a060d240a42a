import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { ensureResultCacheTable, makeDocumentClient } from '#predictions/client.ts';
import { deadEndpoint } from '../helpers/dead-endpoint.ts';
import { expectGolden, type GoldenCase, goldenOf } from '../helpers/golden.ts';
import { post, recordsOf, scanTable, startTestApi } from '../helpers/local-api.ts';
import { captureLogLines } from '../helpers/log-lines.ts';

const REQUESTS = 220;
/** Every fifth request is a batch, larger than one BatchWrite (25) so it takes two. */
const BATCH_EVERY = 5;
const BATCH_SIZE = 30;
const IN_FLIGHT = 4;
/** The database goes down after this many answers, and comes back after that many. */
const STOP_AFTER = 60;
const RESTART_AFTER = 150;
/**
 * What one DynamoDB call may cost against a dead endpoint: the request-path clients'
 * attempts (layers/predictions/client.ts). The SDK's defaults (3, and the prediction log
 * retrying on top of them) would multiply every answer's wait.
 */
const ATTEMPTS_PER_CALL = 2;
const STREAM_TIMEOUT_MS = 120_000;

interface Result {
  label: string;
  score: number;
  scores: Array<{ label: string; score: number }>;
}

/** Every record in the prediction table, as `requestId#index`. */
const tableKeys = async (api: LocalStack): Promise<Set<string>> =>
  new Set((await scanTable(api, api.config.PREDICTIONS_TABLE)).map((item) => `${item.requestId}#${item.index}`));

let api: LocalStack;
let golden: GoldenCase[];
beforeAll(async () => {
  // The in-container result cache is off so every request reads and writes the shared one.
  api = await startTestApi({ RESULT_CACHE_MAX_ENTRIES: '0' });
  golden = await goldenOf('1');
});
afterAll(async () => api?.close());

const expectGoldenFor = (result: Result, text: string) => expectGolden(result, golden.find((g) => g.text === text)!);

describe('DynamoDB down in the middle of a stream of predictions', () => {
  it(
    'answers every prediction, and every record is in the table or in a fallback line',
    async () => {
      // Prepare
      const fallbacks = captureLogLines('predictionLogFallback');
      const expected: string[] = [];
      let answered = 0;
      /** 0 before the dead endpoint listens, 1 while it does, 2 after: which requests met it. */
      let epoch = 0;
      let dead: Awaited<ReturnType<typeof deadEndpoint>> | undefined;
      let callsWhileDown = 0;
      const failures: string[] = [];
      const send = async (i: number) => {
        const batch = i % BATCH_EVERY === 0;
        const texts = batch
          ? Array.from({ length: BATCH_SIZE }, (_, j) => golden[(i + j) % golden.length]!.text)
          : [golden[i % golden.length]!.text];
        const startedIn = epoch;
        const res = batch
          ? await post(api, '/v1/predict/batch', { texts })
          : await post(api, '/v1/predict', { text: texts[0] });
        if (res.status !== 200) failures.push(`request ${i}: ${res.status} ${JSON.stringify(res.body)}`);
        const results = batch ? (res.body.results as Result[]) : [res.body as unknown as Result];
        expect(results).toHaveLength(texts.length);
        results.forEach((r, j) => {
          expectGoldenFor(r, texts[j]!);
          expected.push(`${res.body.requestId}#${j}`);
        });
        // Calls of this answer: one cache read, at most one cache write (≤ 8 distinct
        // texts), one log write per 25 records.
        if (startedIn <= 1 && epoch >= 1) callsWhileDown += 2 + Math.ceil(texts.length / 25);
        answered += 1;
        if (answered === STOP_AFTER) {
          await api.database.stop();
          dead = await deadEndpoint(api.database.endpoint, 'reset');
          epoch = 1;
        } else if (answered === RESTART_AFTER) {
          epoch = 2;
          await dead!.close();
          await api.database.start();
        }
      };
      let next = 0;
      const worker = async () => {
        while (next < REQUESTS) await send(next++);
      };

      // Act
      try {
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      } finally {
        // Records reach the table (or a fallback line) after the answers: wait for the ingestion.
        await api.records.settled();
        fallbacks.restore();
      }

      // Assess: every answer a 200, the outage was real (attempts refused, fallback
      // lines written), each call cost at most its attempts, and no record is lost.
      expect(failures).toEqual([]);
      expect(expected.length).toBeGreaterThan(REQUESTS);
      const inTable = await tableKeys(api);
      const inFallback = new Set(
        fallbacks.lines.map((l) => {
          const record = l.predictionLogFallback as { requestId: string; index: number };
          return `${record.requestId}#${record.index}`;
        }),
      );
      expect(dead!.connections()).toBeGreaterThan(0);
      expect(dead!.connections()).toBeLessThanOrEqual(callsWhileDown * ATTEMPTS_PER_CALL);
      expect(inFallback.size).toBeGreaterThan(0);
      expect(fallbacks.lines[0]).toMatchObject({ level: 'ERROR', table: api.config.PREDICTIONS_TABLE });
      expect(inTable.size).toBeGreaterThan(inFallback.size);
      const lost = expected.filter((k) => !inTable.has(k) && !inFallback.has(k));
      expect(lost).toEqual([]);
      // Writes reach the table again once it is back.
      const [lastRequestId] = expected[expected.length - 1]!.split('#');
      expect(inTable.has(`${lastRequestId}#0`)).toBe(true);
    },
    STREAM_TIMEOUT_MS,
  );

  it('answers by inference when the result-cache table is gone, and still logs every record', async () => {
    // Prepare: the shared cache's table disappears while the database itself is up.
    const client = makeDocumentClient(api.config);
    await client.send(new DeleteTableCommand({ TableName: api.config.RESULT_CACHE_TABLE }));
    const fallbacks = captureLogLines('predictionLogFallback');
    const texts = golden.map((c) => c.text);

    // Act
    let first: Awaited<ReturnType<typeof post>>;
    let again: Awaited<ReturnType<typeof post>>;
    let batch: Awaited<ReturnType<typeof post>>;
    try {
      first = await post(api, '/v1/predict', { text: texts[0] });
      again = await post(api, '/v1/predict', { text: texts[0] });
      batch = await post(api, '/v1/predict/batch', { texts });
    } finally {
      await api.records.settled();
      fallbacks.restore();
      await ensureResultCacheTable(client, api.config.RESULT_CACHE_TABLE);
    }

    // Assess: answered, never from a cache, and the prediction log unaffected.
    for (const res of [first, again, batch]) expect(res.status).toBe(200);
    expectGoldenFor(first.body as unknown as Result, texts[0]!);
    expect(again.body.cached).toBe(false);
    const results = batch.body.results as Array<Result & { cached: boolean }>;
    results.forEach((r, i) => {
      expectGoldenFor(r, texts[i]!);
      expect(r.cached).toBe(false);
    });
    expect(fallbacks.lines).toEqual([]);
    expect(await recordsOf(api, again.body.requestId as string)).toHaveLength(1);
    expect(await recordsOf(api, batch.body.requestId as string)).toHaveLength(texts.length);
  });
});
