import { InferenceClient } from '@huggingface/inference';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

let api: LocalStack;
/** Hugging Face's client as a user of Inference Endpoints runs it: the key (Bearer) and one URL per model. */
const endpoint = (model: string) => new InferenceClient(TEST_KEY).endpoint(`${api.url}/models/${model}`);

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(async () => api?.close());

/** The request id of the last answer, read from the emulator's response through a wrapped fetch. */
const withRequestId = async <T>(call: (fetch: typeof globalThis.fetch) => Promise<T>) => {
  let requestId = '';
  const out = await call(async (input, init) => {
    const res = await fetch(input, init);
    requestId = res.headers.get('x-request-id') ?? '';
    return res;
  });
  return { out, requestId };
};

describe('@huggingface/inference through /models/{model}', () => {
  it('classifies with every label, highest first, and logs a predict record', async () => {
    const { out, requestId } = await withRequestId((fetch) =>
      endpoint('tiny-distilbert-sentiment').textClassification({ inputs: 'I love this product' }, { fetch }),
    );

    expect(out.length).toBeGreaterThanOrEqual(2);
    expect(out.map((o) => o.score)).toEqual([...out.map((o) => o.score)].sort((a, b) => b - a));
    expect(out.reduce((s, o) => s + o.score, 0)).toBeCloseTo(1, 5);
    const records = await recordsOf(api, requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ capability: 'predict', model: 'tiny-distilbert-sentiment' });
  });

  it('identifies languages as text-classification over language labels', async () => {
    const out = await endpoint('lid176').textClassification({
      inputs: 'Bonjour tout le monde, comment allez-vous aujourd’hui ?',
      parameters: { top_k: 3 },
    });

    expect(out).toHaveLength(3);
    expect(out[0]!.label).toBe('fr');
  });

  it('translates with src_lang and tgt_lang', async () => {
    const { out, requestId } = await withRequestId((fetch) =>
      endpoint('tiny-nllb').translation(
        { inputs: 'Hello, world.', parameters: { src_lang: 'en', tgt_lang: 'fr' } as never },
        { fetch },
      ),
    );

    expect(typeof (out as { translation_text: string }).translation_text).toBe('string');
    expect(await recordsOf(api, requestId)).toEqual([expect.objectContaining({ capability: 'translate' })]);
  });
});
