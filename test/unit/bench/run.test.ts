import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/bundles.ts';

/**
 * `npm run bench` without the bench models (BENCH_MODELS_DIR pointed at an empty folder):
 * it stops before building or measuring anything, says what is missing and which variable
 * points elsewhere, and leaves every committed result under bench/results/ as it was.
 * No benchmark runs here.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const RESULTS = path.join(ROOT, 'bench/results');
const RUN_TIMEOUT_MS = 30_000;

const digestOfResults = (): Record<string, string> =>
  Object.fromEntries(
    readdirSync(RESULTS).map((f) => [
      f,
      createHash('sha256')
        .update(readFileSync(path.join(RESULTS, f)))
        .digest('hex'),
    ]),
  );

const runBench = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
  });

describe('npm run bench without its inputs', () => {
  it(
    'stops with one message naming BENCH_MODELS_DIR and each missing model, and rewrites no result',
    async () => {
      // Prepare
      const empty = await tempDir('bench-models');
      const before = digestOfResults();
      // Act
      const run = runBench([], { BENCH_MODELS_DIR: empty });
      // Assess
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('BENCH_MODELS_DIR');
      for (const model of ['distilbert-base-uncased-shape', 'opus-mt-en-de-shape', 'distilgpt2-shape'])
        expect(run.stderr).toContain(path.join(empty, model));
      expect(run.stderr).toContain('no results file was written');
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stdout).not.toContain('npm run build');
      expect(digestOfResults()).toEqual(before);
    },
    RUN_TIMEOUT_MS,
  );

  it(
    'names BENCH_CORPUS when the detect benchmark has no corpus',
    async () => {
      // Prepare
      const missing = path.join(await tempDir('bench-corpus'), 'none.tsv');
      const before = digestOfResults();
      // Act
      const run = runBench(['detect'], { BENCH_CORPUS: missing });
      // Assess
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(`${missing} does not exist (set BENCH_CORPUS)`);
      expect(digestOfResults()).toEqual(before);
    },
    RUN_TIMEOUT_MS,
  );
});
