import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '#runtime/manifest.ts';
import { tempDir } from '../helpers/bundles.ts';
import type { ColdInstanceReport } from '../helpers/cold-instance.ts';
import { BUCKET, PREFIX, putTree, startTestS3, type TestS3 } from '../helpers/s3.ts';

/** The largest fixture (a 3 MB graph), so a download lasts long enough for the others to meet it. */
const MODEL = 'lid176';
const VERSION = '1';
const INSTANCES = 8;
const CHILD = path.resolve('test/helpers/cold-instance.ts');
const RACE_TIMEOUT_MS = 90_000;

let s3: TestS3;
beforeAll(async () => {
  s3 = await startTestS3(await tempDir('race-s3'));
  await putTree(s3, path.resolve('test/fixtures/models', MODEL), MODEL);
});
afterAll(async () => s3?.close());

const message = <T>(child: ChildProcess): Promise<T> => once(child, 'message').then(([m]) => m as T);

describe('eight cold instances racing for one uncached model', () => {
  it(
    'fetch each file from the registry exactly once, and none reads a partial file',
    async () => {
      // Prepare: eight processes, each its own store on one cache folder, all loaded and waiting.
      const cacheDir = await tempDir('race-cache');
      const children = Array.from({ length: INSTANCES }, () =>
        fork(CHILD, [s3.url, BUCKET, PREFIX, cacheDir, MODEL, VERSION], {
          execArgv: ['--import', 'tsx'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        }),
      );
      const exited = children.map((child) => once(child, 'exit'));
      await Promise.all(children.map((child) => message<string>(child)));
      s3.requests.length = 0;

      // Act: all start at once.
      const reports = children.map((child) => message<ColdInstanceReport>(child));
      for (const child of children) child.send('go');
      const results = await Promise.all(reports);
      await Promise.all(exited);

      // Assess
      const manifest = await readManifest(path.join(cacheDir, MODEL, VERSION));
      expect(results.map((r) => r.error ?? 'ok')).toEqual(Array(INSTANCES).fill('ok'));
      expect(results.map((r) => r.changed)).toEqual(Array(INSTANCES).fill([]));
      expect(results.filter((r) => r.fetched)).toHaveLength(1);
      expect(results.reduce((n, r) => n + r.fetchedFiles, 0)).toBe(manifest.files.length);
      const gets = s3.requests.filter((r) => r.method === 'GET').map((r) => r.path);
      for (const file of manifest.files) {
        expect(
          gets.filter((p) => p === `/${BUCKET}/${PREFIX}/${MODEL}/${VERSION}/${file.path}`),
          file.path,
        ).toHaveLength(1);
      }
    },
    RACE_TIMEOUT_MS,
  );
});
