import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, recordsOf, startTestApi } from '../helpers/local-api.ts';

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi({}, { LOCAL_FUNCTION_CONCURRENCY: '1', LOCAL_EMF_ECHO: 'false' });
});
afterAll(async () => api?.close());

describe('an instance killed right after it answers', () => {
  it('loses none of the records of the answers it gave', async () => {
    // Prepare: one instance of predict, warm.
    const texts = Array.from({ length: 30 }, (_, i) => `Killed instance, text ${i}: what a lovely day.`);
    expect((await post(api, '/v1/predict', { text: 'warm up' })).status).toBe(200);
    const pool = api.pools.get('predict')!;
    const [pid] = pool.pids();

    // Act: a batch (two records lines) and a single answer, then SIGKILL at once.
    const [batch, single] = await Promise.all([
      post(api, '/v1/predict/batch', { texts }),
      post(api, '/v1/predict', { text: 'the last words of an instance' }),
    ]);
    process.kill(pid!, 'SIGKILL');

    // Assess: every record of both answers reaches the table.
    expect(batch.status).toBe(200);
    expect(single.status).toBe(200);
    const batchRecords = await recordsOf(api, batch.body.requestId as string, { atLeast: texts.length });
    expect(batchRecords.map((r) => r.index)).toEqual(texts.map((_, i) => i));
    expect(await recordsOf(api, single.body.requestId as string)).toHaveLength(1);
    // A new instance answers, and its records arrive too.
    const after = await post(api, '/v1/predict', { text: 'a new instance' });
    expect(after.status).toBe(200);
    expect(pool.pids()).not.toContain(pid);
    expect(await recordsOf(api, after.body.requestId as string)).toHaveLength(1);
  });
});
