import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { oneOf } from '#runtime/errors.ts';
import { type Manifest, readManifest, sha256File } from '#runtime/manifest.ts';
import { sessionOptions } from '#runtime/onnx.ts';
import { CommandError, type Deps, onnxFiles, parse, positional, taskFiles } from '../common.ts';

export const VALIDATE_HELP = `Usage: models validate <bundle-dir>

Checks a bundle: manifest.json is valid, every file exists with its sha256, every ONNX
graph the task needs loads in ONNX Runtime (inputs and outputs are printed), the task
runs on sample inputs, and golden.json matches when present. Reports load and inference ms.

Options:
  --debug             print the cause chain of an error`;

/** Inputs and outputs a graph must have to serve a task: a wrong task fails here, not in production. */
const GRAPH_CONTRACT: Record<string, { inputs: string[]; outputs: string[] }> = {
  'onnx/model.onnx#text-classification': { inputs: ['input_ids'], outputs: ['logits'] },
  'onnx/model.onnx#text-generation': { inputs: ['input_ids'], outputs: ['logits'] },
  'onnx/encoder_model.onnx#translation': { inputs: ['input_ids'], outputs: ['last_hidden_state'] },
  'onnx/decoder_model_merged.onnx#translation': { inputs: ['encoder_hidden_states'], outputs: ['logits'] },
};

const describe = (meta: readonly ort.InferenceSession.ValueMetadata[]): string =>
  meta
    .map((m) =>
      m.isTensor ? `${m.name}: ${m.type}[${m.shape.map((d) => String(d)).join(', ')}]` : `${m.name}: (non-tensor)`,
    )
    .join('; ');

/** Every manifest file exists, has its byte count and its sha256. */
export const verifyFiles = async (dir: string, manifest: Manifest): Promise<void> => {
  for (const file of manifest.files) {
    const abs = path.join(dir, file.path);
    const size = await stat(abs).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined) throw new CommandError(`validate: ${abs} is missing (listed in manifest.json).`);
    if (size !== file.bytes)
      throw new CommandError(`validate: ${abs} has ${size} bytes, manifest.json says ${file.bytes}.`);
    const sha = await sha256File(abs);
    if (sha !== file.sha256) {
      throw new CommandError(
        `validate: ${abs} has sha256 ${sha}, manifest.json says ${file.sha256}; re-pull or re-import it.`,
      );
    }
  }
};

interface Sample {
  text: string;
  /** Classification: label -> score. */
  scores?: Record<string, number>;
  /** Generation: new token ids; translation: output ids. */
  ids?: number[];
  src_lang?: string;
  tgt_lang?: string;
}

const SAMPLE_TEXTS = ['I love this product, it works perfectly!', 'The file could not be opened.'];
const SCORE_TOLERANCE = 1e-4;
const MAX_NEW_TOKENS = 8;

/** Loads the task through its layer, runs the golden cases (or samples), returns failures. */
const runTask = async (
  dir: string,
  manifest: Manifest,
  deps: Pick<Deps, 'io'>,
): Promise<{ loadMs: number; inferMs: number; checked: number }> => {
  const goldenText = await readFile(path.join(dir, 'golden.json'), 'utf8').catch(() => undefined);
  const golden = goldenText
    ? (JSON.parse(goldenText) as { cases?: Record<string, unknown>[]; max_new_tokens?: number })
    : undefined;
  const cases: Sample[] = (golden?.cases ?? []).map((c) => ({
    text: String(c.text ?? c.prompt ?? ''),
    scores: c.scores as Record<string, number> | undefined,
    ids: (c.new_token_ids ?? c.output_ids) as number[] | undefined,
    src_lang: c.src_lang as string | undefined,
    tgt_lang: c.tgt_lang as string | undefined,
  }));
  // Golden values are fp32 references: a q8 bundle only runs the samples.
  const checkGolden = manifest.dtype === 'fp32' && cases.length > 0;
  const samples: Sample[] = checkGolden ? cases : SAMPLE_TEXTS.map((text) => ({ text }));
  const started = performance.now();
  const fail = (i: number, what: string) => {
    throw new CommandError(
      `validate: golden.json case ${i} (${JSON.stringify(samples[i]?.text.slice(0, 40))}) ${what}.`,
    );
  };
  switch (manifest.task) {
    case 'text-classification': {
      const { loadClassifier } = await import('#tasks/classification/index.ts');
      const clf = await loadClassifier(dir, { dtype: manifest.dtype });
      const loadMs = performance.now() - started;
      const t = performance.now();
      const out = await clf.classify(samples.map((s) => s.text));
      const inferMs = performance.now() - t;
      await clf.dispose();
      out.forEach((r, i) => {
        deps.io.out(`  sample ${i}: ${r.label} ${r.score.toFixed(4)}`);
        const want = checkGolden ? samples[i]?.scores : undefined;
        for (const [label, score] of Object.entries(want ?? {})) {
          const got = r.scores.find((s) => s.label === label)?.score;
          if (got === undefined || Math.abs(got - score) > SCORE_TOLERANCE)
            fail(i, `${label} score ${got} differs from ${score} by more than ${SCORE_TOLERANCE}`);
        }
      });
      return { loadMs, inferMs, checked: checkGolden ? samples.length : 0 };
    }
    case 'text-generation': {
      const { loadGenerator } = await import('#tasks/generation/index.ts');
      const gen = await loadGenerator(dir, { dtype: manifest.dtype });
      const loadMs = performance.now() - started;
      const t = performance.now();
      for (const [i, s] of samples.entries()) {
        const maxTokens = s.ids?.length ?? MAX_NEW_TOKENS;
        const out = await gen.generate(s.text, { maxTokens, temperature: 0 });
        const ids = out.choices[0]?.tokenIds ?? [];
        deps.io.out(`  sample ${i}: ${JSON.stringify(out.choices[0]?.text ?? '')}`);
        if (checkGolden && s.ids && JSON.stringify(ids) !== JSON.stringify(s.ids.slice(0, ids.length)))
          fail(i, `greedy ids ${JSON.stringify(ids)} differ from ${JSON.stringify(s.ids)}`);
      }
      const inferMs = performance.now() - t;
      await gen.dispose();
      return { loadMs, inferMs, checked: checkGolden ? samples.length : 0 };
    }
    case 'translation': {
      const { loadTranslator } = await import('#tasks/translation/index.ts');
      const tr = await loadTranslator(dir, { dtype: manifest.dtype });
      const loadMs = performance.now() - started;
      const t = performance.now();
      for (const [i, s] of samples.entries()) {
        const maxTokens = s.ids?.length ?? MAX_NEW_TOKENS;
        const [out] = await tr.translate([s.text], {
          source: s.src_lang ?? 'eng_Latn',
          target: s.tgt_lang ?? 'fra_Latn',
          maxNewTokens: maxTokens,
        });
        deps.io.out(`  sample ${i}: ${JSON.stringify(out?.text ?? '')}`);
        const ids = out?.tokenIds ?? [];
        // Golden ids hold the decoder's start tokens too, so the run may be a token longer
        // or shorter: compare the shared prefix, which greedy decoding must match exactly.
        const want = s.ids ?? [];
        const n = Math.min(ids.length, want.length);
        if (checkGolden && JSON.stringify(ids.slice(0, n)) !== JSON.stringify(want.slice(0, n))) {
          fail(i, `greedy ids ${JSON.stringify(ids)} differ from ${JSON.stringify(want)}`);
        }
      }
      const inferMs = performance.now() - t;
      await tr.dispose();
      return { loadMs, inferMs, checked: checkGolden ? samples.length : 0 };
    }
    case 'language-identification': {
      // The langid task layer is written in parallel with this CLI: validate without it.
      const langid = await import('#tasks/langid/index.ts').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ERR_MODULE_NOT_FOUND') return undefined;
        throw error;
      });
      if (!langid) {
        deps.io.out('  inference skipped: layers/tasks/langid is not available');
        return { loadMs: 0, inferMs: 0, checked: 0 };
      }
      const { loadLangId } = langid;
      const model = await loadLangId(dir);
      const loadMs = performance.now() - started;
      const t = performance.now();
      const out = await model.predict(SAMPLE_TEXTS, 1);
      const inferMs = performance.now() - t;
      for (const [i, p] of out.entries()) deps.io.out(`  sample ${i}: ${p[0]?.label} ${p[0]?.probability.toFixed(4)}`);
      return { loadMs, inferMs, checked: 0 };
    }
  }
};

/**
 * `models validate`: everything that could go wrong with a bundle, found before publishing.
 *
 * @example
 * await runValidate(['models/tiny-distilbert-sentiment/1'], deps); // => 0, prints graphs and timings
 */
export const runValidate = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('validate', argv, {});
  if (values.help) {
    deps.io.out(VALIDATE_HELP);
    return 0;
  }
  await validateBundle(path.resolve(positional('validate', 'bundle-dir', positionals)), deps);
  return 0;
};

/**
 * Everything `models validate` checks, on one bundle folder: the manifest, every file's
 * sha256, every graph's contract, the task on samples (and golden.json). Throws a
 * `CommandError` saying what is wrong; the import function calls it before publishing.
 *
 * @example
 * (await validateBundle('models/tiny-gpt2/1', deps)).task; // => 'text-generation'
 */
export const validateBundle = async (dir: string, deps: Pick<Deps, 'io'>): Promise<Manifest> => {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CommandError(
      missing
        ? `validate: ${dir} has no manifest.json; is it a bundle folder (<name>/<version>)?`
        : `validate: ${(cause as Error).message}`,
      { cause },
    );
  }
  await verifyFiles(dir, manifest);
  deps.io.out(
    `${manifest.name}@${manifest.version} ${manifest.task} (${manifest.dtype}): ${manifest.files.length} files, checksums ok`,
  );

  const needed = taskFiles(manifest.task, manifest.dtype);
  const listed = manifest.files.map((f) => f.path);
  const absent = needed.required.filter((f) => !listed.includes(f));
  if (absent.length > 0) {
    throw new CommandError(
      `validate: manifest says ${manifest.task} (${manifest.dtype}) but the bundle lacks ${oneOf(absent)}; wrong --task?`,
    );
  }
  for (const file of onnxFiles(needed)) {
    const t = performance.now();
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path.join(dir, file), sessionOptions());
    } catch (cause) {
      const reason = ((cause as Error).message ?? '').split('\n')[0];
      throw new CommandError(`validate: ${file} is not a loadable ONNX graph (${reason}); re-export or re-pull it.`, {
        cause,
      });
    }
    const loadMs = performance.now() - t;
    deps.io.out(`graph ${file} (load ${loadMs.toFixed(0)} ms)`);
    deps.io.out(`  inputs:  ${describe(session.inputMetadata)}`);
    deps.io.out(`  outputs: ${describe(session.outputMetadata)}`);
    const contract = GRAPH_CONTRACT[`${file.replace('_quantized', '')}#${manifest.task}`];
    const missingNames = [
      ...(contract?.inputs ?? []).filter((n) => !session.inputNames.includes(n)),
      ...(contract?.outputs ?? []).filter((n) => !session.outputNames.includes(n)),
    ];
    await session.release();
    if (missingNames.length > 0) {
      throw new CommandError(
        `validate: ${file} has no ${oneOf(missingNames)}: it is not a ${manifest.task} graph; wrong --task?`,
      );
    }
  }
  let result: Awaited<ReturnType<typeof runTask>>;
  try {
    result = await runTask(dir, manifest, deps);
  } catch (cause) {
    if (cause instanceof CommandError) throw cause;
    throw new CommandError(`validate: running ${manifest.task} failed: ${(cause as Error).message.split('\n')[0]}`, {
      cause,
    });
  }
  deps.io.out(
    `task ${manifest.task}: load ${result.loadMs.toFixed(0)} ms, inference ${result.inferMs.toFixed(0)} ms${result.checked ? `, golden.json ${result.checked} cases ok` : ''}`,
  );
  deps.io.out('ok');
  return manifest;
};
