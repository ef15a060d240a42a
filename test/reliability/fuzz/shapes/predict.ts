import fc from 'fast-check';
import { opt, type RouteShape, record, strings, text, texts } from './common.ts';

const PREDICT_MODELS = [
  'tiny-distilbert-sentiment',
  'tiny-distilbert-sentiment@1',
  'tiny-distilbert-sentiment@2',
  'tiny-distilbert-sentiment@prod',
  'tiny-distilbert-sentiment@canary',
];
const ensemble = record({
  members: fc.shuffledSubarray(PREDICT_MODELS, { minLength: 2, maxLength: 3 }),
  method: fc.constantFrom('soft', 'hard'),
  weights: opt(fc.array(fc.double({ min: 0, max: 3, noNaN: true }), { minLength: 2, maxLength: 3 })),
});
const predictModel = opt(fc.constantFrom(...PREDICT_MODELS));
/** `model` or `ensemble`, not both (both is a 400 the near-valid cases reach by themselves). */
const modelOrEnsemble = fc.oneof(
  record({ model: predictModel }),
  record({ ensemble: ensemble as fc.Arbitrary<unknown> }),
);

/** An ISO date or date-time near now (inside the analytics' 31-day window most of the time). */
const instant = fc.tuple(fc.integer({ min: -40, max: 2 }), fc.boolean()).map(([days, dateOnly]) => {
  const iso = new Date(Date.now() + days * 86_400_000).toISOString();
  return dateOnly ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`;
});
const analyticsRange = {
  model: opt(fc.constantFrom('tiny-distilbert-sentiment', 'ensemble')),
  from: opt(instant),
  to: opt(instant),
};

/** The valid shapes of the predict function's routes (functions/predict/routes.ts). */
export const PREDICT_SHAPES: Record<string, RouteShape> = {
  'GET /health': {},
  'GET /v1/status': {},
  'POST /v1/predict': {
    body: fc.tuple(record({ text: text() }), modelOrEnsemble).map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /v1/predict/batch': {
    body: fc.tuple(record({ texts: texts() }), modelOrEnsemble).map(([a, b]) => ({ ...a, ...b })),
  },
  'POST /v1/predict/compare': {
    body: fc
      .tuple(
        fc.oneof(record({ text: text() }), record({ texts: texts() })),
        record({
          model: opt(fc.constant('tiny-distilbert-sentiment')),
          versions: fc.constantFrom(['1', '2'], ['2', '1'], ['prod', '2'], ['1', 'canary']),
        }),
      )
      .map(([a, b]) => ({ ...a, ...b })),
  },
  'GET /v1/analytics/summary': { query: strings(analyticsRange) },
  'GET /v1/analytics/timeseries': {
    query: strings({
      ...analyticsRange,
      bucket: fc.constantFrom('hour', 'day'),
      limit: opt(fc.integer({ min: 1, max: 744 }).map(String)),
      nextToken: opt(
        fc
          .record({ model: fc.constant('tiny-distilbert-sentiment'), bucket: fc.constant('hour'), next: fc.integer() })
          .map((t) => Buffer.from(JSON.stringify(t)).toString('base64url')),
      ),
    }),
  },
};
