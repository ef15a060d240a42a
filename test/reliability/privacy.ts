import type { LocalStack } from '#local/stack.ts';
import { scanTable } from '../helpers/local-api.ts';

/** Texts no model output or hash could contain by chance. */
export const MARKER = '5c1e7a9d';
const SECRET = (what: string) => `secret ${what} ${MARKER} text`;

/** Requests that log a record in every capability, each with its own secret input. */
export const loggingRequests = [
  ['/v1/predict', { text: SECRET('predict') }],
  ['/v1/predict/batch', { texts: [SECRET('batch')] }],
  ['/v1/predict/compare', { text: SECRET('compare'), versions: ['1', '2'] }],
  [
    '/v1/predict',
    {
      text: SECRET('ensemble'),
      ensemble: { members: ['tiny-distilbert-sentiment@1', 'tiny-distilbert-sentiment@2'], method: 'soft' },
    },
  ],
  ['/v1/detect', { text: SECRET('detect') }],
  ['/detect', { q: SECRET('libre detect') }],
  ['/v1/translate', { text: SECRET('translate'), source_language: 'en', target_language: 'fr', max_new_tokens: 4 }],
  ['/translate', { q: SECRET('libre translate'), source: 'en', target: 'fr' }],
  ['/v1/completions', { model: 'tiny-gpt2', prompt: SECRET('completion'), max_tokens: 2 }],
  [
    '/v1/chat/completions',
    { model: 'tiny-gpt2', messages: [{ role: 'user', content: SECRET('chat') }], max_tokens: 2 },
  ],
] as const;

/** Every item of the prediction log and the result cache. */
export const scanTables = async (stack: LocalStack): Promise<Record<string, unknown>[]> =>
  (
    await Promise.all(
      [stack.config.PREDICTIONS_TABLE, stack.config.RESULT_CACHE_TABLE].map((table) => scanTable(stack, table)),
    )
  ).flat();
