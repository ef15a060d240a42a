import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';
import { parseInput } from '#http/validate.ts';
import { predictionLog, requestFields } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { VERSION_PATTERN } from '#runtime/manifest.ts';
import { parseModelRef } from '#runtime/registry.ts';
import { textField, textsField } from '../shared.ts';
import { classifyTexts, publicResult, recordOf, servedModel } from './classify.ts';

const selector = z
  .string({ error: 'must be a string: a version ("1") or an alias ("prod")' })
  .regex(VERSION_PATTERN, 'must be a version ("1") or an alias ("prod")');

const Compare = () =>
  z
    .strictObject({
      text: textField().optional(),
      texts: textsField().optional(),
      model: z
        .string({ error: 'must be a model name, e.g. "tiny-distilbert-sentiment"' })
        .refine((m) => !m.includes('@'), 'must be a model name without "@"; put the two versions in "versions"')
        .optional(),
      versions: z
        .array(selector, { error: 'must be an array of two versions or aliases, e.g. ["1", "2"]' })
        .length(2, 'must hold exactly two versions or aliases, e.g. ["1", "2"]')
        .refine((v) => v[0] !== v[1], 'must name two different versions or aliases'),
    })
    .refine((b) => (b.text === undefined) !== (b.texts === undefined), {
      message: 'give either "text" (one string) or "texts" (an array), not both and not neither',
      path: ['text'],
    });

/**
 * `POST /v1/predict/compare`: both versions of one model answer every text; each pair
 * says whether the top labels agree. Records of both sides share a `comparisonId`.
 */
export const compareRoute = async (event: ApiEvent): Promise<ApiResult> => {
  const body = parseInput(Compare(), event.body);
  const texts = body.texts ?? [body.text!];
  const name = body.model ?? parseModelRef(config().DEFAULT_PREDICT_MODEL).name;
  const [refA, refB] = body.versions.map((v) => `${name}@${v}`) as [string, string];
  const [a, b] = await Promise.all([classifyTexts(refA, texts), classifyTexts(refB, texts)]);
  const comparisonId = randomUUID();
  const base = requestFields(event.requestContext);
  await predictionLog().write([
    ...texts.map((_, i) => recordOf(base, a, texts, i, { comparisonId, side: 'a', part: 'a' })),
    ...texts.map((_, i) => recordOf(base, b, texts, i, { comparisonId, side: 'b', part: 'b' })),
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
    requestId: base.requestId,
  });
};
