import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { get, post, startTestApi } from '../helpers/local-api.ts';
import { MODEL } from './predict-registry.ts';

const REQUESTS = 1000;
/** Requests in flight at once: enough to be quick on 2 cores, few enough for dynalite. */
const CONCURRENCY = 25;
/** The fixture's `canary` alias: v1, with v2 as canary at weight 0.3. */
const WEIGHT = 0.3;
const SIGMAS = 4.5;
const TEST_TIMEOUT_MS = 120_000;
/** Few distinct texts: repeats are answered by the result cache, which keeps 1,000 requests quick (the split happens before it). */
const DISTINCT_TEXTS = 10;

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

/** Every record of the model in the partitions of the given UTC days, by request id. */
const recordsByRequest = async (days: string[]) => {
  const client = makeDocumentClient(api.config);
  const out = new Map<string, Record<string, unknown>>();
  for (const day of days) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: api.config.PREDICTIONS_TABLE,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `predict#${MODEL}#${day}` },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.set(String(item.requestId), item);
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return out;
};

describe('canary split', () => {
  it(
    `serves the canary to ${WEIGHT * 100} % of ${REQUESTS} requests (±${SIGMAS}σ) and records which`,
    async () => {
      const firstDay = new Date().toISOString().slice(0, 10);
      const responses: Array<{ requestId: string; model: { version: string; alias?: string; canary?: boolean } }> = [];
      for (let start = 0; start < REQUESTS; start += CONCURRENCY) {
        const group = await Promise.all(
          Array.from({ length: Math.min(CONCURRENCY, REQUESTS - start) }, (_, i) =>
            post(api, '/v1/predict', {
              text: `canary request ${(start + i) % DISTINCT_TEXTS}`,
              model: `${MODEL}@canary`,
            }),
          ),
        );
        for (const r of group) {
          expect(r.status).toBe(200);
          responses.push(r.body as (typeof responses)[number]);
        }
      }
      const lastDay = new Date().toISOString().slice(0, 10);

      const canaries = responses.filter((r) => r.model.canary === true);
      const sigma = Math.sqrt((WEIGHT * (1 - WEIGHT)) / REQUESTS);
      const share = canaries.length / REQUESTS;
      expect(Math.abs(share - WEIGHT)).toBeLessThanOrEqual(SIGMAS * sigma);
      for (const r of responses) {
        expect(r.model.alias).toBe('canary');
        expect(r.model.version).toBe(r.model.canary ? '2' : '1');
      }
      // Records travel as log lines and reach the table after the answers: wait for the local ingestion.
      await api.records.settled();
      const records = await recordsByRequest([...new Set([firstDay, lastDay])]);
      expect(records.size).toBe(REQUESTS);
      for (const r of responses) {
        expect(records.get(r.requestId)).toMatchObject({
          alias: 'canary',
          canary: r.model.canary,
          version: r.model.version,
        });
      }
      const { body } = await get(api, `/v1/analytics/summary?model=${MODEL}`);
      expect(body.byVersion).toEqual({ '1': REQUESTS - canaries.length, '2': canaries.length });
    },
    TEST_TIMEOUT_MS,
  );
});
