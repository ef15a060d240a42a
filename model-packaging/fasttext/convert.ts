import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { type Manifest, NAME_PATTERN, VERSION_PATTERN, writeManifest } from '#runtime/manifest.ts';
import type { FeaturizerSpec } from '#tasks/langid/featurizer.ts';
import { buildLangIdOnnx } from './onnx-writer.ts';
import { FasttextFormatError, type FasttextModel, readFasttext } from './reader.ts';

/** Bundle files written by the converter; layers/tasks/langid reads the same names. */
export const LANGID_FILES = { model: 'onnx/model.onnx', featurizer: 'featurizer.json' } as const;
export const LABEL_PREFIX = '__label__';

/** fastText's pruneidx pairs (bucket -> row offset) as the row-ordered list of buckets. */
const prunedBuckets = (pairs: ReadonlyArray<readonly [number, number]>): number[] => {
  const buckets = new Array<number>(pairs.length).fill(-1);
  for (const [bucket, row] of pairs) {
    if (row < 0 || row >= pairs.length || buckets[row] !== -1)
      throw new FasttextFormatError(`pruneidx is not a permutation (row ${row})`);
    buckets[row] = bucket;
  }
  return buckets;
};

/**
 * What the TypeScript featurizer needs (type owned by layers/tasks/langid, its reader): words
 * in dictionary order (`words[i]` has id i), labels without `__label__` (ids nwords..),
 * hashing parameters, and `prunedBuckets[r]` = the hash bucket of n-gram row nwords + r for
 * pruned `.ftz` models (a flat array rather than fastText's pairs: it parses ~3x faster at cold start).
 */
export const featurizerSpec = (model: FasttextModel): FeaturizerSpec => ({
  format: 'fasttext-featurizer',
  formatVersion: 1,
  nwords: model.dict.nwords,
  bucket: model.args.bucket,
  minn: model.args.minn,
  maxn: model.args.maxn,
  wordNgrams: model.args.wordNgrams,
  eos: '</s>',
  labelPrefix: LABEL_PREFIX,
  words: model.dict.entries.slice(0, model.dict.nwords).map((e) => e.word),
  labels: model.dict.entries.slice(model.dict.nwords).map((e) => e.word.replace(LABEL_PREFIX, '')),
  prunedBuckets: model.dict.pruneidxSize >= 0 ? prunedBuckets(model.dict.pruneidx) : null,
});

/**
 * Converts a supervised fastText model (`.bin` or `.ftz`, hierarchical softmax) into a
 * language-identification bundle: `onnx/model.onnx`, `featurizer.json`, `manifest.json`.
 * The output is deterministic apart from the manifest's `created` (pass `created` to pin it).
 *
 * @example
 * await convertFasttext('lid.176.ftz', 'models/lid176/1', { name: 'lid176', version: '1' });
 * // => { name: 'lid176', version: '1', task: 'language-identification', labels: ['en', 'ru', ...], ... }
 */
export async function convertFasttext(
  input: string,
  outDir: string,
  opts: { name: string; version: string; created?: string },
): Promise<Manifest> {
  const model = readFasttext(await readFile(input));
  if (model.args.model !== 3)
    throw new FasttextFormatError('only supervised fastText models can be converted (this one is an embedding model)');
  const spec = featurizerSpec(model);
  const from = path.basename(input);
  const onnxBytes = buildLangIdOnnx(model, `fastText ${from}: ${spec.labels.length} labels, dim ${model.args.dim}`);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.join(outDir, path.dirname(LANGID_FILES.model)), { recursive: true });
  await writeFile(path.join(outDir, LANGID_FILES.model), onnxBytes);
  await writeFile(path.join(outDir, LANGID_FILES.featurizer), `${JSON.stringify(spec)}\n`);
  return writeManifest(outDir, {
    name: opts.name,
    version: opts.version,
    task: 'language-identification',
    labels: spec.labels,
    source: { type: 'converted', from, format: 'fasttext' },
    description: `fastText ${from} converted to ONNX (hierarchical softmax as matrix operations)`,
    ...(opts.created ? { created: opts.created } : {}),
  });
}

const USAGE = `Usage: models convert-fasttext <file.ftz|file.bin> <out-bundle> [--name lid176] [--version 1]

Converts a supervised fastText model (hierarchical softmax, e.g. lid.176.ftz) into an ONNX
language-identification bundle: onnx/model.onnx, featurizer.json, manifest.json.`;

/**
 * CLI entry (`npm run models -- convert-fasttext ...`): returns the exit code, prints one clear
 * line on bad input, never a stack trace.
 *
 * @example
 * await runConvertFasttext(['lid.176.ftz', 'out/lid176/1']); // => 0
 */
export async function runConvertFasttext(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    console.error(`convert-fasttext: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  const [input, out] = parsed.positionals;
  const name = parsed.values.name ?? 'lid176';
  const version = parsed.values.version ?? '1';
  const problem =
    !input || !out || parsed.positionals.length > 2
      ? 'expected exactly two arguments: <file.ftz|file.bin> <out-bundle>'
      : !NAME_PATTERN.test(name)
        ? `--name "${name}" is not valid: use lowercase letters, digits, ".", "_" or "-"`
        : !VERSION_PATTERN.test(version)
          ? `--version "${version}" is not valid: use letters, digits, ".", "_" or "-"`
          : undefined;
  if (problem || !input || !out) {
    console.error(`convert-fasttext: ${problem}\n${USAGE}`);
    return 2;
  }
  try {
    const manifest = await convertFasttext(input, out, { name, version });
    const bytes = manifest.files.reduce((sum, f) => sum + f.bytes, 0);
    console.log(
      `converted ${input} -> ${out} (${manifest.labels?.length ?? 0} labels, ${(bytes / 1e6).toFixed(2)} MB)`,
    );
    return 0;
  } catch (error) {
    const err = error as NodeJS.ErrnoException;
    const reason =
      err.code === 'ENOENT'
        ? `no such file: ${err.path ?? input}`
        : error instanceof FasttextFormatError
          ? `${input} is not a readable fastText model: ${err.message}`
          : err.message;
    console.error(`convert-fasttext: ${reason}`);
    return 1;
  }
}

const parseCli = (argv: string[]) =>
  parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, version: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
