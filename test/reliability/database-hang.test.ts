import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { deadEndpoint } from '../helpers/dead-endpoint.ts';
import { expectGolden, type GoldenCase, goldenOf } from '../helpers/golden.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { captureLogLines } from '../helpers/log-lines.ts';

const REQUESTS = 24;
const IN_FLIGHT = 4;
/** The request-path clients' attempts per call (layers/predictions/client.ts). */
const ATTEMPTS_PER_CALL = 2;
/**
 * Without the breaker each of the 24 requests would make three calls of two attempts that
 * each wait out the request timeout (over a minute in all). With it, only the calls in
 * flight when the table stopped answering wait; one more round is allowed for a slow
 * machine on which the breaker's 10 s run out before the stream ends.
 */
const MAX_CONNECTIONS = 2 * IN_FLIGHT * ATTEMPTS_PER_CALL;
const HANG_TIMEOUT_MS = 60_000;

let api: LocalStack;
let golden: GoldenCase[];
beforeAll(async () => {
  api = await startTestApi({ RESULT_CACHE_MAX_ENTRIES: '0' });
  golden = await goldenOf('1');
  expect((await post(api, '/v1/predict', { text: golden[0]!.text })).status).toBe(200);
});
afterAll(async () => api?.close());

describe('DynamoDB accepting connections and never answering', () => {
  it(
    'answers every prediction, waits out the timeouts only for the calls in flight, and loses no record',
    async () => {
      // Prepare
      await api.database.stop();
      const dead = await deadEndpoint(api.database.endpoint, 'hang');
      const fallbacks = captureLogLines('predictionLogFallback');
      const expected: string[] = [];
      const statuses: number[] = [];
      let next = 0;
      const worker = async () => {
        while (next < REQUESTS) {
          const c = golden[next++ % golden.length]!;
          const res = await post(api, '/v1/predict', { text: c.text });
          statuses.push(res.status);
          expectGolden(res.body, c);
          expected.push(`${res.body.requestId}#0`);
        }
      };

      // Act
      try {
        await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      } finally {
        // Records reach the table (or a fallback line) after the answers: wait for the ingestion.
        await api.records.settled();
        fallbacks.restore();
        await dead.close();
      }

      // Assess
      expect(statuses).toEqual(Array(REQUESTS).fill(200));
      expect(dead.connections()).toBeGreaterThan(0);
      expect(dead.connections()).toBeLessThanOrEqual(MAX_CONNECTIONS);
      const inFallback = new Set(
        fallbacks.lines.map((l) => {
          const record = l.predictionLogFallback as { requestId: string; index: number };
          return `${record.requestId}#${record.index}`;
        }),
      );
      expect(expected.filter((k) => !inFallback.has(k))).toEqual([]);
    },
    HANG_TIMEOUT_MS,
  );
});
