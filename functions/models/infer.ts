import { json } from '#http/response.ts';
import { requestRecords } from '#predictions/index.ts';
import { ValidationError } from '#runtime/errors.ts';
import type { RouteHandlerOf } from '../bind.ts';
import type { Capability } from '../capabilities.ts';
import { detectAndLog } from '../detect/run.ts';
import { pathModel } from '../model-path.ts';
import { classifyAndLog } from '../predict/classify.ts';
import { translateAndLog } from '../translate/run.ts';
import type { models } from './routes.ts';

/** The language identifier's default number of labels per text (it knows 176). */
const LANGID_TOP_K = 5;

/**
 * `POST /models/{model}`: Hugging Face Inference Endpoints' call, dispatched by the model's
 * task to the capability that owns it (its run code, its records: one per text, under that
 * capability's name, so analytics see them where they see the capability's own routes).
 */
export const inferRoute: RouteHandlerOf<typeof models.routes.infer> = async ({ params, body, event }) => {
  const { manifest } = await pathModel(params.model);
  const texts = typeof body.inputs === 'string' ? [body.inputs] : body.inputs;
  const as = (capability: Capability) => () => requestRecords(capability, event.requestContext);
  const topK = body.parameters?.top_k;
  switch (manifest.task) {
    case 'text-classification': {
      const out = await classifyAndLog(as('predict'), texts, params.model);
      return json(out.results.map((r) => r.scores.slice(0, topK)));
    }
    case 'language-identification': {
      const out = await detectAndLog(as('detect'), texts, topK ?? LANGID_TOP_K, params.model);
      return json(
        out.results.map((r) => [r, ...r.alternatives].map((d) => ({ label: d.language, score: d.confidence }))),
      );
    }
    case 'translation': {
      const target = body.parameters?.tgt_lang;
      if (!target) {
        throw new ValidationError(
          'parameters.tgt_lang is required for a translation model: the target language, e.g. "fr" or "fra_Latn".',
          { param: 'parameters.tgt_lang' },
        );
      }
      const out = await translateAndLog(as('translate'), {
        texts,
        target,
        source: body.parameters?.src_lang,
        model: params.model,
        params: { source: 'parameters.src_lang', target: 'parameters.tgt_lang' },
      });
      return json(out.translations.map((t) => ({ translation_text: t.text })));
    }
    case 'text-generation':
      throw new ValidationError(
        `${params.model} is a text-generation model: POST /models/${params.model}/generate ({"inputs", "parameters"}), ` +
          `/models/${params.model}/v1/completions or /models/${params.model}/v1/chat/completions.`,
        { param: 'model' },
      );
  }
};
