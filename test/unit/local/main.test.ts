import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/bundles.ts';

/**
 * `npm start` (local/main.ts) with a setting that cannot work stops with one line that
 * names the setting and how to fix it, exit code 1, and no stack trace.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const START_TIMEOUT_MS = 30_000;

const npmStart = (env: Record<string, string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'local/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, LOCAL_DATA_DIR: 'memory', LOG_LEVEL: 'INFO', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      // It started after all: stop it, the test fails on the exit code.
      if (stdout.includes('Local API listening')) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

describe('npm start with a setting that cannot work', () => {
  it(
    'stops on a MODELS_DIR that does not exist, naming MODELS_DIR',
    async () => {
      // Prepare
      const missing = path.join(await tempDir('no-models'), 'models');
      // Act
      const run = await npmStart({ MODELS_DIR: missing, PORT: '0' });
      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^npm start: MODELS_DIR=${missing} does not exist: set MODELS_DIR to `)),
      ]);
      expect(run.stdout).not.toContain('Local API listening');
    },
    START_TIMEOUT_MS,
  );

  it(
    'stops on a port in use, naming the port and PORT= to pick another',
    async () => {
      // Prepare
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const { port } = busy.address() as AddressInfo;
      // Act
      const run = await npmStart({ PORT: String(port) }).finally(
        () => new Promise<void>((resolve) => busy.close(() => resolve())),
      );
      // Assess
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(lines[0]).toContain('PORT=');
      expect(run.stderr).not.toMatch(/^\s+at /m);
    },
    START_TIMEOUT_MS,
  );
});
