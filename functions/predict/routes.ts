import { config } from '#runtime/config.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { defineCapability } from '../spec.ts';
import { Compare, Health, Predict, PredictBatch, predictRequests, Status, Summary, Timeseries } from './schemas.ts';

const MODEL = () => parseModelRef(config().DEFAULT_PREDICT_MODEL).name;
const RANGE = { from: '2026-11-22', to: '2026-11-23' };
const HUB_IMPORT =
  '`model` may also be a Hugging Face id, `org/name` or `org/name@revision`: when the stage allows it (HUB_IMPORT_ALLOW) and the registry does not hold it yet, it is imported as a text classifier and the answer is **202** with the import job, `Retry-After` and `Location` (its status URL); repeat the request once the job is `done`. Outside the allowlist: 403; a failed import: 422 with the reason. Ensemble members are registry models.';

/** The predict function's routes: text classification, versions and canaries, A/B compare, ensembles, analytics. */
export const predict = defineCapability('predict', {
  description: 'Text classification: versions, aliases and canaries, A/B compare, ensembles, analytics.',
  routes: {
    health: {
      method: 'GET',
      path: '/health',
      auth: 'none',
      summary: 'Liveness (no API key)',
      response: Health,
      // Answered by API Gateway: an uptime check must not cost an invocation or a cold start.
      mock: { body: { status: 'ok' } },
    },
    status: {
      method: 'GET',
      path: '/v1/status',
      summary: "Every function's loaded models (shared state), then this container's cold start, memory and caches",
      response: Status,
    },
    predict: {
      method: 'POST',
      path: '/v1/predict',
      hubImport: true,
      summary: 'Classify one text (one model, or an ensemble)',
      description: HUB_IMPORT,
      body: () => predictRequests().Single,
      response: Predict,
      examples: () => ({
        text: { summary: 'One text, the default model', value: { text: 'I love this product, it works perfectly!' } },
        canary: {
          summary: 'Through an alias with a canary split',
          value: { text: 'Great!', model: `${MODEL()}@canary` },
        },
        ensemble: {
          summary: 'Two versions as a soft-voting ensemble',
          value: { text: 'Not bad at all', ensemble: { members: [`${MODEL()}@1`, `${MODEL()}@2`], method: 'soft' } },
        },
      }),
    },
    batch: {
      method: 'POST',
      path: '/v1/predict/batch',
      hubImport: true,
      summary: 'Classify several texts (answers in input order)',
      description: HUB_IMPORT,
      body: () => predictRequests().Batch,
      response: PredictBatch,
      examples: () => ({ texts: { summary: 'Two texts', value: { texts: ['I love it', 'It broke after a day'] } } }),
    },
    compare: {
      method: 'POST',
      path: '/v1/predict/compare',
      summary: 'A/B: two versions of one model answer the same texts',
      body: () => predictRequests().Compare,
      response: Compare,
      examples: () => ({
        versions: {
          summary: 'Version 1 against version 2',
          value: { text: 'I love it', model: MODEL(), versions: ['1', '2'] },
        },
      }),
    },
    summary: {
      method: 'GET',
      path: '/v1/analytics/summary',
      summary: 'Counts by label and version, confidence histogram, latency percentiles, agreement, cache hit rate',
      query: () => predictRequests().Summary,
      response: Summary,
      examples: () => ({ day: { summary: 'One day of the default model', value: { model: MODEL(), ...RANGE } } }),
    },
    timeseries: {
      method: 'GET',
      path: '/v1/analytics/timeseries',
      summary: 'Prediction counts per hour or day (and label), paginated',
      query: () => predictRequests().Timeseries,
      response: Timeseries,
      examples: () => ({
        hourly: { summary: 'Hourly buckets of one day', value: { model: MODEL(), bucket: 'hour', ...RANGE } },
      }),
    },
  },
});
