import { logAbandoned, predictionLog, type RequestRecords } from '#predictions/index.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { predictEnsemble } from '#tasks/classification/ensemble.ts';
import { answerOf, classifyTexts, publicResult } from './classify.ts';
import type { EnsembleSpec } from './schemas.ts';

/**
 * An ensemble over texts (`layers/tasks/classification/ensemble.ts` does the work; each
 * member goes through the result cache). Logs one record per member answer (`part`
 * `m<i>`) and one per combined answer under the model name `ensemble`.
 */
export const ensembleAndLog = async (
  records: () => RequestRecords,
  texts: string[],
  spec: EnsembleSpec,
  { useCache = true, signal }: { useCache?: boolean; signal?: AbortSignal } = {},
) => {
  const log = records();
  const out = await predictEnsemble(
    modelRuntime(),
    spec,
    texts,
    (ref, resolved) => classifyTexts(ref, texts, { resolved, tenant: log.tenant, useCache, signal }),
    signal,
  ).catch((error: unknown) => {
    // Stopped between members or mini-batches: one record per text says how the ensemble ended.
    logAbandoned(log, texts, { model: 'ensemble', version: spec.members.join('+') }, error, signal);
    throw error;
  });
  const answered = out.members.flatMap((m) => ('out' in m ? [m] : []));
  const version = answered.map((m) => `${m.out.model.name}@${m.out.model.version}`).join('+');
  predictionLog().write([
    ...answered.flatMap((m) =>
      texts.map((text, t) => log.record(text, t, answerOf(m.out, t, { part: `m${m.index}`, ensembleMember: m.index }))),
    ),
    ...out.results.map((r, t) =>
      log.record(texts[t]!, t, {
        model: 'ensemble',
        version,
        latencyMs: Math.round(out.latencyMs),
        output: { label: r.label, score: r.score, method: spec.method },
      }),
    ),
  ]);
  return {
    results: out.results.map((r, t) => ({
      ...r,
      members: out.members.map((m) =>
        'out' in m
          ? { model: { name: m.out.model.name, version: m.out.model.version }, ...publicResult(m.out.results[t]!) }
          : { model: m.model, error: m.reason },
      ),
    })),
    ensemble: { method: spec.method, members: spec.members, weights: out.weights },
    excluded: out.excluded,
    requestId: log.requestId,
  };
};
