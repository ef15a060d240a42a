import type { ModelRuntime } from '#runtime/models.ts';
import { type Detection, type DetectResult, detectLanguages } from './detect.ts';
import { type LangIdModel, loadLangId } from './model.ts';

/** A detection as the API answers it: codes a language lacks are `null`, never missing. */
export type ApiDetection = Omit<Detection, 'flores' | 'iso639_1'> & { flores: string | null; iso639_1: string | null };
export type ApiDetectResult = ApiDetection & { alternatives: ApiDetection[] };

export interface DetectOutcome {
  model: { name: string; version: string };
  results: ApiDetectResult[];
  inferenceMs: number;
}

const nulled = (d: Detection): ApiDetection => ({ ...d, flores: d.flores ?? null, iso639_1: d.iso639_1 ?? null });
const toApi = (r: DetectResult): ApiDetectResult => ({ ...nulled(r), alternatives: r.alternatives.map(nulled) });

/**
 * The work of the detect routes and of translate's auto-detection: resolve and load the
 * language-identification model, then top-k languages per text in input order.
 *
 * @example
 * const out = await detect(runtime, 'lid176', ['Habari ya asubuhi', '12:30'], 2);
 * out.results.map((r) => r.language); // => ['sw', 'und']
 */
export const detect = async (
  runtime: ModelRuntime,
  modelRef: string,
  texts: string[],
  topK: number,
): Promise<DetectOutcome> => {
  const loaded = await runtime.load<LangIdModel>(modelRef, 'language-identification', (b) => loadLangId(b.dir));
  const started = performance.now();
  const results = (await detectLanguages(loaded.value, texts, topK)).map(toApi);
  return { model: { name: loaded.name, version: loaded.version }, results, inferenceMs: performance.now() - started };
};
