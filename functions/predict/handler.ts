import { bindRoutes, preloadOnProvisioned } from '../bind.ts';
import { batchRoute } from './batch.ts';
import { warmDefaultModel } from './classify.ts';
import { compareRoute } from './compare.ts';
import { healthRoute } from './health.ts';
import { predictRoute } from './predict.ts';
import { predict } from './routes.ts';
import { statusRoute } from './status.ts';
import { summaryRoute } from './summary.ts';
import { timeseriesRoute } from './timeseries.ts';

/** The predict function: one handler per route of `routes.ts`. */
export const handler = bindRoutes(predict, {
  health: healthRoute,
  status: statusRoute,
  predict: predictRoute,
  batch: batchRoute,
  compare: compareRoute,
  summary: summaryRoute,
  timeseries: timeseriesRoute,
});

// Provisioned concurrency: the default model is in memory before the first request.
await preloadOnProvisioned(warmDefaultModel);
