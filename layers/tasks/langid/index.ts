/**
 * The language-identification task: fastText lid.176 converted to ONNX (`model.ts`), its
 * featurizer, and top-k detection named in every code form the API answers (`detect.ts`).
 * Re-exports only: the modules import each other directly, never through this file, so
 * that no import cycle runs through it.
 */
export { type Detection, type DetectResult, detectLanguages, UNDETERMINED } from './detect.ts';
export { Featurizer, type FeaturizerSpec, fasttextHash } from './featurizer.ts';
export { hasLetters, LangIdModel, type LangIdPrediction, loadLangId } from './model.ts';
