import { spawnSync } from 'node:child_process';
import { access, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChecksumMismatchError } from '#runtime/errors.ts';
import { Registry } from '#runtime/registry.ts';
import { COMPLETE_MARKER, ModelStore } from '#runtime/store.ts';
import { S3ObjectStore } from '#storage/s3-object-store.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { runModelsCli } from '../helpers/models-cli.ts';
import { BUCKET, startTestS3, type TestS3 } from '../helpers/s3.ts';

const FIXTURE = path.resolve('test/fixtures/models/tiny-distilbert-sentiment/1');
const REPO = 'acme/tiny-distilbert-sentiment';
const SHA = 'a'.repeat(40);
const E2E_TIMEOUT_MS = 120_000;

/** The Hub's URL layout over the fixture, with switches to cut a body half-way or answer 500 once. */
const hubState = { cuts: new Map<string, number>(), fail500Next: new Set<string>(), ranges: [] as string[] };
const startHub = async (): Promise<{ server: Server; url: string }> => {
  const files = (await readFile(path.join(FIXTURE, 'manifest.json'), 'utf8').then(JSON.parse)) as {
    files: { path: string }[];
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith(`/api/models/${REPO}/revision/`)) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ sha: SHA, siblings: files.files.map((f) => ({ rfilename: f.path })) }));
      return;
    }
    const prefix = `/${REPO}/resolve/${SHA}/`;
    if (!url.pathname.startsWith(prefix)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const rel = decodeURIComponent(url.pathname.slice(prefix.length));
    if (hubState.fail500Next.delete(rel)) {
      res.statusCode = 500;
      res.end();
      return;
    }
    const body = await readFile(path.join(FIXTURE, rel)).catch(() => undefined);
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const range = req.headers.range;
    let start = 0;
    if (range) {
      hubState.ranges.push(`${rel} ${range}`);
      start = Number(/bytes=(\d+)-/.exec(range)?.[1] ?? 0);
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${body.length - 1}/${body.length}`);
    }
    res.setHeader('content-length', String(body.length - start));
    const cuts = hubState.cuts.get(rel) ?? 0;
    if (cuts > 0) {
      hubState.cuts.set(rel, cuts - 1);
      // Half the body, then a dead socket: the client sees a cut-off response.
      res.write(body.subarray(start, start + Math.floor((body.length - start) / 2)), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const run = (argv: string[]) => runModelsCli(argv, { retryBaseMs: 5 });

describe('model-packaging end to end', () => {
  let hub: { server: Server; url: string };
  let s3: TestS3;
  let s3url: string;
  let work: string;
  const s3flags = () => ['--bucket', BUCKET, '--prefix', 'models', '--endpoint', s3url];

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'packaging-e2e-'));
    hub = await startHub();
    s3 = await startTestS3(path.join(work, 's3'));
    s3url = s3.url;
  });
  afterAll(async () => {
    await new Promise((resolve) => hub.server.close(resolve));
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'pulls with a retry and a resumed download, validates, publishes, aliases and serves from an empty cache',
    async () => {
      // Prepare: the model graph is cut off half-way once, config.json answers 500 once.
      hubState.cuts.set('onnx/model.onnx', 1);
      hubState.fail500Next.add('config.json');
      const out = path.join(work, 'registry');

      // Act: pull
      const pulled = await run([
        'pull',
        REPO,
        '--revision',
        'main',
        '--task',
        'text-classification',
        '--out',
        out,
        '--name',
        'sentiment',
        '--version',
        '1',
        '--endpoint',
        hub.url,
      ]);

      // Assess: done, the retry and the Range resume happened, the sha is pinned.
      expect(pulled.err).toContain('attempt 1 failed');
      expect(pulled.code).toBe(0);
      expect(hubState.ranges.some((r) => r.startsWith('onnx/model.onnx bytes='))).toBe(true);
      const bundle = path.join(out, 'sentiment', '1');
      const manifest = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8'));
      expect(manifest.source).toMatchObject({ type: 'hub', repo: REPO, revision: SHA, requestedRevision: 'main' });
      expect(manifest.files.map((f: { path: string }) => f.path)).toEqual([
        'config.json',
        'golden.json',
        'onnx/model.onnx',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      expect(manifest.labels).toEqual(['NEGATIVE', 'POSITIVE']);
      expect(await readFile(path.join(bundle, 'onnx/model.onnx'))).toEqual(
        await readFile(path.join(FIXTURE, 'onnx/model.onnx')),
      );

      const validated = await run(['validate', bundle]);
      expect(validated.err).toBe('');
      expect(validated.code).toBe(0);
      expect(validated.out).toContain('golden.json 8 cases ok');
      expect(validated.out).toContain('logits: float32[batch_size, 2]');

      const published = await run(['publish', bundle, ...s3flags()]);
      expect(published.err).not.toContain('error');
      expect(published.code).toBe(0);

      const again = await run(['publish', bundle, ...s3flags()]);
      expect(again.code).toBe(1);
      expect(again.err).toMatch(
        /^error: publish: sentiment@1 already exists at s3:\/\/models\/models\/sentiment\/1; versions are immutable/,
      );

      const aliased = await run(['alias', 'set', 'prod', 'sentiment@1', ...s3flags()]);
      expect(aliased.code).toBe(0);
      const badAlias = await run(['alias', 'set', 'prod', 'sentiment@9', ...s3flags()]);
      expect(badAlias.code).toBe(1);
      expect(badAlias.err).toContain('sentiment@9 is not published');

      const listed = await run(['list', ...s3flags()]);
      expect(listed.out).toMatch(/sentiment\s+text-classification\s+1\s+prod=1/);

      const cache = path.join(work, 'cache');
      const warmed = await run(['warm', 'sentiment@prod', '--cache', cache, ...s3flags()]);
      expect(warmed.code).toBe(0);
      expect(warmed.out).toBe(path.join(cache, 'sentiment', '1'));

      // A function's path: the local API (the predict handler) over S3 with an EMPTY cache folder.
      const fnCache = path.join(work, 'cache-fn');
      const api = await startTestApi({
        MODEL_BUCKET: BUCKET,
        MODEL_PREFIX: 'models',
        S3_ENDPOINT: s3url,
        MODEL_CACHE_DIR: fnCache,
      });
      try {
        const answer = await post(api, '/v1/predict', {
          text: 'I love this product, it works perfectly!',
          model: 'sentiment',
        });
        expect(answer.status).toBe(200);
        expect(answer.body).toMatchObject({ label: 'POSITIVE', model: { name: 'sentiment', version: '1' } });
        expect(answer.body.score as number).toBeCloseTo(0.757901654225216, 4);
        await expect(access(path.join(fnCache, 'sentiment', '1', '.complete'))).resolves.toBeUndefined();
      } finally {
        await api.close();
      }
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'resumes a pull that a previous run left half-done',
    async () => {
      // Prepare: the graph is cut off on every attempt of the first run (5 attempts).
      hubState.cuts.set('onnx/model.onnx', 5);
      const out = path.join(work, 'resume');
      const argv = [
        'pull',
        REPO,
        '--revision',
        SHA,
        '--task',
        'text-classification',
        '--out',
        out,
        '--name',
        'sentiment',
        '--version',
        '1',
        '--endpoint',
        hub.url,
      ];

      // Act
      const first = await run(argv);
      hubState.ranges.length = 0;
      const second = await run(argv);

      // Assess: the first run fails with one line, the second continues from the .part file.
      expect(first.code).toBe(1);
      expect(first.err.split('\n').filter((l) => l.startsWith('error:'))).toEqual([
        expect.stringMatching(
          /^error: download acme\/tiny-distilbert-sentiment\/onnx\/model.onnx: failed after 5 attempts \(connection lost after \d+ bytes\)/,
        ),
      ]);
      expect(second.code).toBe(0);
      expect(hubState.ranges[0]).toMatch(/^onnx\/model.onnx bytes=[1-9]\d*-$/);
      expect(await readFile(path.join(out, 'sentiment', '1', 'onnx/model.onnx'))).toEqual(
        await readFile(path.join(FIXTURE, 'onnx/model.onnx')),
      );
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'pulls the quantized graph alone with --dtype q8',
    async () => {
      const out = path.join(work, 'q8');
      const pulled = await run([
        'pull',
        REPO,
        '--revision',
        'main',
        '--task',
        'text-classification',
        '--dtype',
        'q8',
        '--out',
        out,
        '--endpoint',
        hub.url,
      ]);
      expect(pulled.code).toBe(0);
      const bundle = path.join(out, 'tiny-distilbert-sentiment', SHA.slice(0, 12));
      const manifest = JSON.parse(await readFile(path.join(bundle, 'manifest.json'), 'utf8'));
      expect(manifest.dtype).toBe('q8');
      expect(manifest.files.map((f: { path: string }) => f.path)).toContain('onnx/model_quantized.onnx');
      expect(manifest.files.map((f: { path: string }) => f.path)).not.toContain('onnx/model.onnx');
      const validated = await run(['validate', bundle]);
      expect(validated.code).toBe(0);
      expect(validated.out).toContain('graph onnx/model_quantized.onnx');
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'refuses a missing bucket with one line',
    async () => {
      const result = await run(['publish', FIXTURE, '--bucket', 'no-such-bucket', '--endpoint', s3url]);
      expect(result.code).toBe(1);
      expect(result.err).toBe(
        'error: publish s3://no-such-bucket/models: the bucket does not exist; create it or check --bucket and --endpoint.',
      );
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'refuses a corrupted object in S3 and never marks the bundle complete',
    async () => {
      // Prepare: publish a second version, then change one byte of its graph directly in S3.
      const bundle = path.join(work, 'registry', 'sentiment', '1');
      const copy = path.join(work, 'registry2');
      expect(
        (
          await run([
            'import',
            bundle,
            '--task',
            'text-classification',
            '--name',
            'sentiment',
            '--version',
            '2',
            '--out',
            copy,
          ])
        ).code,
      ).toBe(0);
      expect((await run(['publish', path.join(copy, 'sentiment', '2'), ...s3flags()])).code).toBe(0);
      const s3store = new S3ObjectStore({ bucket: BUCKET, prefix: 'models', endpoint: s3url });
      const key = s3store.key('sentiment/2/onnx/model.onnx');
      const got = await s3store.client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      bytes[1000] = (bytes[1000]! + 1) % 256;
      await s3store.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bytes }));
      const cacheDir = path.join(work, 'cache-corrupt');

      // Act
      const store = new ModelStore({ registry: new Registry(s3store), cacheDir });
      const error = await store.ensure('sentiment', '2').catch((e: unknown) => e);
      const cli = await run(['warm', 'sentiment@2', '--cache', path.join(work, 'cache-corrupt-cli'), ...s3flags()]);

      // Assess
      expect(error).toBeInstanceOf(ChecksumMismatchError);
      expect((error as Error).message).toContain(
        'Checksum mismatch for s3://models/models/sentiment/2/onnx/model.onnx',
      );
      expect(
        await access(path.join(cacheDir, 'sentiment', '2', COMPLETE_MARKER)).then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      expect(cli.code).toBe(1);
      expect(cli.err.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      expect(cli.err).toContain('Checksum mismatch');
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'fails clearly on a broken graph and on a wrong task',
    async () => {
      // Prepare: a copy of the bundle with its graph truncated, and one that claims translation.
      const bundle = path.join(work, 'registry', 'sentiment', '1');
      const broken = path.join(work, 'broken');
      expect(
        (
          await run([
            'import',
            bundle,
            '--task',
            'text-classification',
            '--name',
            'broken',
            '--version',
            '1',
            '--out',
            broken,
          ])
        ).code,
      ).toBe(0);
      const dir = path.join(broken, 'broken', '1');
      const graph = path.join(dir, 'onnx/model.onnx');
      const full = await readFile(graph);
      await rm(graph, { force: true });
      await writeFile(graph, full.subarray(0, Math.floor(full.length / 3)));
      const manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8'));
      const { sha256File } = await import('#runtime/manifest.ts');
      for (const f of manifest.files)
        if (f.path === 'onnx/model.onnx')
          Object.assign(f, { sha256: await sha256File(graph), bytes: (await stat(graph)).size });
      await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
      const wrong = path.join(work, 'wrong');
      await import('node:fs/promises').then((fs) => fs.cp(bundle, wrong, { recursive: true }));
      const wrongManifest = JSON.parse(await readFile(path.join(wrong, 'manifest.json'), 'utf8'));
      await writeFile(path.join(wrong, 'manifest.json'), JSON.stringify({ ...wrongManifest, task: 'translation' }));
      await copyFile(path.join(bundle, 'config.json'), path.join(wrong, 'extra.json'));

      // Act
      const brokenRun = await run(['validate', dir]);
      const wrongRun = await run(['validate', wrong]);

      // Assess
      expect(brokenRun.code).toBe(1);
      expect(brokenRun.err).toMatch(/^error: validate: onnx\/model.onnx is not a loadable ONNX graph/);
      expect(wrongRun.code).toBe(1);
      expect(wrongRun.err).toMatch(
        /^error: validate: manifest says translation \(fp32\) but the bundle lacks .*onnx\/decoder_model_merged.onnx/,
      );
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'runs as a real process through tsx',
    () => {
      const child = spawnSync('npx', ['tsx', 'model-packaging/cli.ts', '--help'], { encoding: 'utf8' });
      expect(child.status).toBe(0);
      expect(child.stdout).toContain('Usage: models <command>');
    },
    E2E_TIMEOUT_MS,
  );
});
