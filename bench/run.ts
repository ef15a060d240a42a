import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { requireBenchInputs } from './inputs.ts';
import { buildFunctions } from './lib.ts';

/**
 * `npm run bench [-- name ...]`: runs the benchmarks one after another (never in
 * parallel: they measure throughput on a 2-core machine), each writing
 * bench/results/<name>.json, then the report (bench/report.ts: latest.json, latest.md,
 * latency.svg). Without names, every benchmark runs.
 */
const ALL = ['capabilities', 'load', 'detect', 'translate', 'generate', 'request-path'];
const root = path.resolve(import.meta.dirname, '..');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = (wanted.length ? wanted : ALL).filter((n) => existsSync(path.join(root, `bench/${n}.ts`)));
const unknown = wanted.filter((n) => !ALL.includes(n));
if (unknown.length) {
  console.error(`Unknown benchmark(s): ${unknown.join(', ')}. Choose from: ${ALL.join(', ')}.`);
  process.exit(2);
}
requireBenchInputs(names);
buildFunctions();
const env = { ...process.env, BENCH_FUNCTIONS_BUILT: '1' };
let failed = 0;
for (const name of names) {
  console.log(`\n== bench/${name}.ts`);
  const run = spawnSync('npx', ['tsx', `bench/${name}.ts`], { cwd: root, env, stdio: 'inherit' });
  if (run.status !== 0) failed += 1;
}
console.log('\n== bench/report.ts');
if (spawnSync('npx', ['tsx', 'bench/report.ts'], { cwd: root, stdio: 'inherit' }).status !== 0) failed += 1;
process.exit(failed ? 1 : 0);
