import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, recordsOf, startTestApi } from '../helpers/local-api.ts';

/**
 * Batches and ensembles stop at the deadline (issue 23.2): the classifier checks the
 * invocation's signal between mini-batches and the ensemble between members, so a batch
 * far longer than the deadline answers its 504 in time, and every text's record says
 * `deadline` (nothing was delivered) instead of the answer nobody received.
 */
/**
 * The function's timeout and margin: a 0.4 s deadline. A whole batch takes about 1.7 s on an
 * idle 2-core Xeon (and more on anything slower or busier), so the deadline falls well inside it
 * whatever the machine; at 1.5 s an idle machine finished the batch first.
 */
const TIMEOUT_MS = 1_400;
const MARGIN_MS = 1_000;
/** Many mini-batches of long texts: over a second of inference on any machine, against that deadline. */
const TEXTS = 300;
const TEXT = 'This is a sentence about files and folders, and it goes on. '.repeat(40);
const WARM_UP_ATTEMPTS = 5;

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi(
    { DEADLINE_MARGIN_MS: String(MARGIN_MS), MAX_BATCH_SIZE: String(TEXTS) },
    { LOCAL_TIMEOUT_MS: String(TIMEOUT_MS) },
  );
  // Load both versions first: a first load counts against a request's deadline too.
  for (const model of ['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2']) {
    for (let i = 0; i < WARM_UP_ATTEMPTS; i++) {
      if ((await post(api, '/v1/predict', { text: 'warm up', model })).status === 200) break;
    }
  }
}, 120_000);
afterAll(async () => api?.close());

/** Texts unique to one test, so no result cache answers them. */
const textsFor = (tag: string) => Array.from({ length: TEXTS }, (_, i) => `${tag} ${i}. ${TEXT}`);

describe('a batch past its deadline', () => {
  it('answers 504 in time and records every text as deadline', async () => {
    const texts = textsFor('batch');

    const started = performance.now();
    const res = await post(api, '/v1/predict/batch', { texts, model: 'tiny-distilbert-sentiment@1', cache: false });
    const answeredMs = performance.now() - started;

    expect(res.status).toBe(504);
    // Long before the whole batch would end; room for a loaded machine,
    // where the 504's timer waits for the mini-batch under way.
    expect(answeredMs).toBeLessThan(2 * TIMEOUT_MS);
    const records = await recordsOf(api, res.body.error?.requestId as string, { atLeast: TEXTS });
    expect(records).toHaveLength(TEXTS);
    expect(new Set(records.map((r) => r.outcome))).toEqual(new Set(['deadline']));
    expect(records.every((r) => Object.keys(r.output as object).length === 0)).toBe(true);
  });
});

describe('an ensemble past its deadline', () => {
  it('answers 504 and records every text as deadline under the ensemble, with no member answers', async () => {
    const texts = textsFor('ensemble');

    const res = await post(api, '/v1/predict/batch', {
      texts,
      ensemble: { members: ['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2'], method: 'soft' },
      cache: false,
    });

    expect(res.status).toBe(504);
    const records = await recordsOf(api, res.body.error?.requestId as string, { atLeast: TEXTS });
    expect(records).toHaveLength(TEXTS);
    expect(new Set(records.map((r) => `${r.model} ${r.outcome}`))).toEqual(new Set(['ensemble deadline']));
  });
});
