import * as z from 'zod';
import {
  apiKeyField,
  Cached,
  cacheField,
  LibreDetection,
  ModelVersion,
  modelField,
  oneTextOrTexts,
  perConfig,
  RequestId,
  textField,
  textsField,
} from '../schemas.ts';

/** Request and response schemas of the detect function's routes (`routes.ts` says which route takes which). */

export const detectRequests = perConfig(() => ({
  Detect: oneTextOrTexts(
    z.strictObject({
      text: textField().optional(),
      texts: textsField().optional(),
      top_k: z
        .number()
        .int()
        .min(1, 'must be at least 1')
        .max(10, 'must be at most 10')
        .default(3)
        .meta({ description: 'How many languages per text: the best one and `top_k - 1` alternatives.' }),
      model: modelField(),
      cache: cacheField(),
    }),
  ),
  /** LibreTranslate's `/detect` (JSON or form-encoded): `q` and an optional `api_key`. */
  LibreDetect: z.object({ q: textField(), api_key: apiKeyField() }),
}));

const Detection = {
  language: z
    .string()
    .meta({ description: 'ISO 639-1 when the language has one, else ISO 639-3; "und" for no letters.' }),
  flores: z.string().nullable().meta({ description: 'FLORES-200 code (null when the language has none).' }),
  iso639_1: z.string().nullable(),
  iso639_3: z.string(),
  name: z.string(),
  confidence: z.number().meta({ description: 'Probability 0..1.' }),
};
const DetectResult = z
  .object({
    ...Detection,
    alternatives: z.array(z.object(Detection)).meta({ description: 'Most probable first.' }),
    cached: Cached,
  })
  .meta({ id: 'DetectResult' });
export const Detect = z
  .union([
    DetectResult.extend({ model: ModelVersion, requestId: RequestId }),
    z.object({ results: z.array(DetectResult), model: ModelVersion, requestId: RequestId }),
  ])
  .meta({ id: 'DetectResponse', description: 'One result for `text`; `results` in input order for `texts`.' });
export const LibreDetect = z.array(LibreDetection).meta({ id: 'LibreDetectResponse' });
