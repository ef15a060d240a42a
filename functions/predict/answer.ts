import type { RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { classifyAndLog } from './classify.ts';
import { ensembleAndLog } from './ensemble.ts';
import type { EnsembleSpec } from './schemas.ts';

/** `/v1/predict` and `/v1/predict/batch`: one model (the default one unless named) or an ensemble; both log their records. */
export const classifyOrEnsemble = (
  records: () => RequestRecords,
  texts: string[],
  body: { model?: string | undefined; ensemble?: EnsembleSpec | undefined; cache?: boolean | undefined },
  signal?: AbortSignal,
) => {
  const options = { useCache: body.cache !== false, signal };
  return body.ensemble
    ? ensembleAndLog(records, texts, body.ensemble, options)
    : classifyAndLog(records, texts, body.model ?? config().DEFAULT_PREDICT_MODEL, options);
};
