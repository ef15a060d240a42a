import { randomUUID } from 'node:crypto';
import { json } from '#http/response.ts';
import { predictionLog } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { ValidationError } from '#runtime/errors.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { answerOf, classifyTexts, publicResult, servedModel } from './classify.ts';
import type { predict } from './routes.ts';

/**
 * `POST /v1/predict/compare`: both versions of one model answer every text; each pair
 * says whether the top labels agree. Records of both sides share a `comparisonId`.
 */
export const compareRoute: RouteHandlerOf<typeof predict.routes.compare> = async ({ body, records }) => {
  const texts = body.texts ?? [body.text!];
  const name = body.model ?? parseModelRef(config().DEFAULT_PREDICT_MODEL).name;
  const [refA, refB] = body.versions.map((v) => `${name}@${v}`) as [string, string];
  // Two names for one version ("1" and "prod" while prod is 1) would compare a model with itself.
  // An alias counts as its own version here: its canary share is a per-request draw.
  const never = () => 1;
  const registry = modelRuntime().registry;
  const [versionA, versionB] = await Promise.all([registry.resolve(refA, never), registry.resolve(refB, never)]);
  if (versionA.version === versionB.version) {
    const message = `${JSON.stringify(body.versions[0])} and ${JSON.stringify(body.versions[1])} are both ${name}@${versionA.version}; name two different versions`;
    throw new ValidationError(`versions: ${message}`, { details: [{ field: 'versions', message }] });
  }
  const log = records();
  const tenant = log.tenant;
  const [a, b] = await Promise.all([classifyTexts(refA, texts, { tenant }), classifyTexts(refB, texts, { tenant })]);
  const comparisonId = randomUUID();
  predictionLog().write([
    ...texts.map((text, i) => log.record(text, i, answerOf(a, i, { comparisonId, side: 'a', part: 'a' }))),
    ...texts.map((text, i) => log.record(text, i, answerOf(b, i, { comparisonId, side: 'b', part: 'b' }))),
  ]);
  const results = texts.map((_, i) => ({
    a: publicResult(a.results[i]!),
    b: publicResult(b.results[i]!),
    agree: a.results[i]!.label === b.results[i]!.label,
  }));
  return json({
    comparisonId,
    model: name,
    versions: { a: servedModel(a.model, refA), b: servedModel(b.model, refB) },
    results,
    agreementRate: results.filter((r) => r.agree).length / results.length,
    requestId: log.requestId,
  });
};
