import { z } from 'zod';
import { LibreDetection, ModelVersion, type Operations, RequestId } from '../contract.ts';
import { modelField, oneTextOrTexts, perConfig, textField, textsField } from '../shared.ts';

/** Request and response schemas of the detect function's routes, and their documentation. */

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
    }),
  ),
  /** LibreTranslate's `/detect`: `q` and an optional `api_key` (the key itself must be in x-api-key). */
  LibreDetect: z.object({
    q: textField(),
    api_key: z.string().optional().meta({ description: 'Ignored: send the key in the x-api-key header.' }),
  }),
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
  .object({ ...Detection, alternatives: z.array(z.object(Detection)).meta({ description: 'Most probable first.' }) })
  .meta({ id: 'DetectResult' });
const Detect = z
  .union([
    DetectResult.extend({ model: ModelVersion, requestId: RequestId }),
    z.object({ results: z.array(DetectResult), model: ModelVersion, requestId: RequestId }),
  ])
  .meta({ id: 'DetectResponse', description: 'One result for `text`; `results` in input order for `texts`.' });
const LibreDetect = z.array(LibreDetection).meta({ id: 'LibreDetectResponse' });

export const detectOperations = (): Operations => {
  const r = detectRequests();
  return {
    'POST /v1/detect': {
      summary: 'Identify the language of one or several texts (top-k with confidence)',
      body: r.Detect,
      response: Detect,
      examples: {
        text: { summary: 'One text', value: { text: 'Bonjour tout le monde, comment allez-vous ?' } },
        texts: {
          summary: 'Several texts, top 2',
          value: { texts: ['Bonjour tout le monde', 'Guten Morgen'], top_k: 2 },
        },
      },
    },
    'POST /detect': {
      summary: 'LibreTranslate-compatible detection (JSON or form-encoded)',
      body: r.LibreDetect,
      form: true,
      response: LibreDetect,
      examples: { q: { summary: 'One text', value: { q: 'Buenos días a todos' } } },
    },
  };
};
