import type { ApiResult } from '#http/types.ts';
import type { RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { hubModel } from '../hub-model.ts';
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

/**
 * A `model` naming a Hugging Face id (`org/name[@revision]`, functions/hub-model.ts): 202 while
 * it is imported as a text classifier, 403 outside the stage's allowlist, 422 when the import
 * failed; once imported, the route answers with the imported model. Registry names, the
 * default model and ensembles (whose members are registry models) pass through unchanged.
 */
export const viaHubModel = async <B extends { model?: string | undefined; ensemble?: unknown }>(
  body: B,
  answer: (body: B) => Promise<ApiResult>,
): Promise<ApiResult> => {
  if (body.ensemble || !body.model) return answer(body);
  const target = await hubModel(body.model, 'text-classification');
  return 'answer' in target ? target.answer : answer({ ...body, model: target.ref });
};
