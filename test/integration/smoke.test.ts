import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { SLOW_KEY, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

const run = promisify(execFile);
const SMOKE_TIMEOUT_MS = 120_000;

/** `npm run smoke` as a user runs it after a deploy, here against the local API. */
const smoke = (args: string[]) =>
  run('npx', ['tsx', 'scripts/smoke.ts', ...args], { timeout: SMOKE_TIMEOUT_MS }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
  );

describe('npm run smoke', () => {
  let api: LocalStack;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => api?.close());

  it(
    'passes every check against the local API, the 429 on a key of a tiny plan included',
    async () => {
      const { code, stdout } = await smoke(['--url', api.url, '--key', TEST_KEY, '--tiny-key', SLOW_KEY]);

      expect(stdout).toMatch(/all 8 checks passed/);
      expect(code).toBe(0);
      for (const check of [
        'GET /health',
        'GET /v1/status',
        'POST /v1/predict',
        'POST /v1/detect',
        'POST /v1/translate',
      ]) {
        expect(stdout).toMatch(new RegExp(`PASS  ${check.replace(/[/()]/g, '\\$&')}\\s`));
      }
      expect(stdout).toMatch(/PASS {2}POST \/v1\/chat\/completions \(stream\)/);
      expect(stdout).toMatch(/PASS {2}POST \/v1\/predict without a key .* 401/);
      expect(stdout).toMatch(/PASS {2}GET \/v1\/status past a tiny plan .* 429 after \d+ requests/);
    },
    SMOKE_TIMEOUT_MS,
  );

  it(
    'fails, with a non-zero exit, when the API refuses the key',
    async () => {
      const { code, stdout } = await smoke(['--url', api.url, '--key', 'not-a-key']);

      expect(code).toBe(1);
      expect(stdout).toMatch(/FAIL {2}POST \/v1\/predict .*HTTP 403/);
      expect(stdout).toMatch(/PASS {2}GET \/health/);
      expect(stdout).toMatch(/SKIP {2}429 past a tiny plan/);
    },
    SMOKE_TIMEOUT_MS,
  );
});
