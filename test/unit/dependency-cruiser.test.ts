import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The import-graph check (`npm run lint:deps`, part of `npm test`) is only worth its place if
 * it fails on what it forbids: run it, with the project's own configuration, on a fixture tree
 * that breaks each rule once.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('../fixtures/import-graph/', import.meta.url));
const CHECK_TIMEOUT_MS = 60_000;

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Runs the check as `npm run lint:deps` does (its exit status), and again for its findings as JSON. */
const cruise = (cwd: string, paths: string[]) => {
  const run = (extra: string[]) =>
    spawnSync(
      `${ROOT}node_modules/.bin/depcruise`,
      [...paths, '--config', `${ROOT}.dependency-cruiser.cjs`, ...extra],
      {
        cwd,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
    );
  const { status } = run([]);
  const result = JSON.parse(run(['--output-type', 'json']).stdout) as { summary: { violations: Violation[] } };
  return { status, violations: result.summary.violations };
};

describe('the import-graph check', () => {
  it(
    'fails on a cycle and on each forbidden layer import',
    () => {
      const { status, violations } = cruise(FIXTURE, ['layers', 'functions', 'local']);
      const found = violations.map((v) => `${v.rule.name}: ${v.from}`).sort();

      expect(status).not.toBe(0);
      expect(found).toEqual([
        'functions-never-import-local: functions/demo/handler.ts',
        'no-circular: layers/tasks/a.ts',
        'plain-tasks-and-runtime: layers/runtime/uses-sdk.ts',
        'runtime-is-the-bottom-layer: layers/runtime/uses-tasks.ts',
      ]);
    },
    CHECK_TIMEOUT_MS,
  );
});
