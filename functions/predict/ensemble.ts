import type { ApiEvent } from '#http/types.ts';
import { type PredictionRecord, predictionLog, requestFields } from '#predictions/index.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import { predictEnsemble } from '#tasks/classification/ensemble.ts';
import { classifyTexts, publicResult, recordOf } from './classify.ts';
import type { EnsembleSpec } from './contract.ts';

/**
 * An ensemble over texts (`layers/tasks/classification/ensemble.ts` does the work; each
 * member goes through the result cache). Logs one record per member answer (`part`
 * `m<i>`) and one per combined answer under the model name `ensemble`.
 */
export const ensembleAndLog = async (event: ApiEvent, texts: string[], spec: EnsembleSpec) => {
  const out = await predictEnsemble(modelRuntime(), spec, texts, (ref, resolved) =>
    classifyTexts(ref, texts, { resolved }),
  );
  const answered = out.members.flatMap((m) => ('out' in m ? [m] : []));
  const base = requestFields(event.requestContext);
  const records: PredictionRecord[] = [
    ...answered.flatMap((m) =>
      texts.map((_, t) => recordOf(base, m.out, texts, t, { part: `m${m.index}`, ensembleMember: m.index })),
    ),
    ...out.results.map((r, t) => ({
      ...recordOf(base, answered[0]!.out, texts, t),
      model: 'ensemble',
      version: answered.map((m) => `${m.out.model.name}@${m.out.model.version}`).join('+'),
      alias: undefined,
      canary: undefined,
      cached: undefined,
      latencyMs: Math.round(out.latencyMs),
      output: { label: r.label, score: r.score, method: spec.method },
    })),
  ];
  await predictionLog().write(records);
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
    requestId: base.requestId,
  };
};
