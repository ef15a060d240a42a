export type { FeaturizerSpec } from '#tasks/langid/featurizer.ts';
export { convertFasttext, LANGID_FILES, runConvertFasttext } from './convert.ts';
export { buildHuffmanPaths } from './huffman.ts';
export { buildLangIdOnnx, LANGID_GRAPH } from './onnx-writer.ts';
export { FasttextFormatError, type FasttextModel, readFasttext } from './reader.ts';
