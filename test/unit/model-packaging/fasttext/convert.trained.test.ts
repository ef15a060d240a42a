import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertFasttext, readFasttext } from '#packaging/fasttext/index.ts';
import { loadLangId } from '#tasks/langid/index.ts';
import { corpusLines, FASTTEXT_BIN, hasFasttext } from '../../../helpers/langid-reference.ts';

/**
 * The converter on model shapes lid.176 does not have: a dense `.bin` with word bigrams and an
 * unpruned bucket table, its `.ftz` (pruned with -cutoff, product-quantized with -qnorm), and
 * softmax and one-vs-all losses.
 * Both are trained here in about a second with Debian's `fasttext` on the committed corpus
 * sample (test/fixtures/corpus), then every label's probability is compared with
 * `fasttext predict-prob`. Training needs the binary, so without it these are skipped
 * (.ci/run installs it where apt-get exists); the lid.176 parity test needs no binary.
 */
const TRAIN_TIMEOUT_MS = 60_000;
const MAX_PROBABILITY_DIFF = 1e-4;
const LOCALES = ['de', 'fr', 'es', 'it', 'pt_BR', 'nl'];
const binary = hasFasttext();

const run = (args: string[], input?: string): string => {
  const r = spawnSync(FASTTEXT_BIN, args, { encoding: 'utf8', input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`fasttext ${args[0]} failed: ${r.stderr}`);
  return r.stdout;
};

describe.skipIf(!binary)('convert-fasttext on freshly trained models', () => {
  let dir: string;
  let lines: string[];
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'fasttext-tiny-'));
    const texts = corpusLines();
    // Label each translation with a made-up locale cycle: the labels only need to be learnable-ish.
    const labelled = texts.map((t, i) => `__label__${LOCALES[i % LOCALES.length]} ${t}`).join('\n');
    const train = path.join(dir, 'train.txt');
    await writeFile(train, `${labelled}\n`);
    const common = '-dim 8 -minCount 1 -bucket 5000 -minn 2 -maxn 3 -epoch 2 -thread 1 -verbose 0'.split(' ');
    run(['supervised', '-input', train, '-output', path.join(dir, 'm'), '-loss', 'hs', '-wordNgrams', '2', ...common]);
    for (const loss of ['softmax', 'ova']) {
      run(['supervised', '-input', train, '-output', path.join(dir, loss), '-loss', loss, ...common]);
    }
    const quantize = '-qnorm -cutoff 2000 -dsub 2 -retrain -epoch 1 -thread 1 -verbose 0'.split(' ');
    run(['quantize', '-input', train, '-output', path.join(dir, 'm'), ...quantize]);
    lines = corpusLines(5).slice(0, 400);
  }, TRAIN_TIMEOUT_MS);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['m.bin', 'm.ftz', 'softmax.bin', 'ova.bin'])(
    '%s: every label probability matches fasttext predict-prob',
    async (file) => {
      // Prepare
      const modelFile = path.join(dir, file);
      const parsed = readFasttext(await readFile(modelFile));
      const out = path.join(dir, `${file}-bundle`);
      await convertFasttext(modelFile, out, { name: 'tiny', version: '1' });
      const reference = run(['predict-prob', modelFile, '-', String(LOCALES.length)], `${lines.join('\n')}\n`).split(
        '\n',
      );
      const model = await loadLangId(out, { threads: 1 });
      // Act
      const predictions = await model.predict(lines, LOCALES.length);
      await model.release();
      // Assess
      expect(parsed.input.quantized).toBe(file === 'm.ftz');
      expect(parsed.args.wordNgrams).toBe(file.startsWith('m.') ? 2 : 1);
      expect(parsed.dict.pruneidxSize > 0).toBe(file === 'm.ftz');
      let compared = 0;
      predictions.forEach((top, i) => {
        const fields = (reference[i] ?? '').split(' ');
        for (let f = 0; f < fields.length; f += 2) {
          const label = (fields[f] ?? '').replace('__label__', '');
          const want = Number(fields[f + 1]);
          const got = top.find((p) => p.label === label)?.probability ?? 0;
          // fastText prunes labels under 1e-5 from its answer; everything it prints must match.
          expect(Math.abs(got - want), `${file} line ${i} ${label}`).toBeLessThanOrEqual(MAX_PROBABILITY_DIFF);
          compared++;
        }
      });
      expect(compared).toBeGreaterThan(lines.length);
    },
    TRAIN_TIMEOUT_MS,
  );
});
