import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readManifest } from '#runtime/manifest.ts';
import { findOptimizedGraphs } from '#runtime/optimized-graphs.ts';
import { main } from '../../../model-packaging/cli.ts';

const FIXTURE = path.resolve('test/fixtures/models/tiny-distilbert-sentiment/1');
const SHA = 'b'.repeat(40);
/** The S3 SDK retries a refused connection a few times before giving up. */
const S3_REFUSED_TIMEOUT_MS = 20_000;

const run = async (argv: string[], env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    io: { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(...l.split('\n')), isTTY: false },
    env,
    retryBaseMs: 0,
  });
  return { code, out, err };
};

/** One line on stderr, starting with "error:", no stack frame. */
const expectOneLine = (err: string[], pattern: RegExp) => {
  expect(err).toHaveLength(1);
  expect(err[0]).toMatch(/^error: /);
  expect(err[0]).toMatch(pattern);
  expect(err[0]).not.toMatch(/\n\s+at /);
};

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('models CLI: top level', () => {
  it('prints usage and exits 2 without a command', async () => {
    const { code, err } = await run([]);
    expect(code).toBe(2);
    expect(err.join('\n')).toContain('Usage: models <command>');
  });

  it('refuses an unknown command with the valid ones', async () => {
    const { code, err } = await run(['frobnicate']);
    expect(code).toBe(2);
    expectOneLine(err, /unknown command "frobnicate"\. Must be one of \["pull", "import", "validate"/);
  });

  it.each(['pull', 'import', 'validate', 'publish', 'alias', 'list', 'warm'])(
    '%s --help prints its usage',
    async (command) => {
      const { code, out, err } = await run([command, '--help']);
      expect(code).toBe(0);
      expect(err).toEqual([]);
      expect(out[0]).toMatch(new RegExp(`^Usage: models ${command}`));
    },
  );

  it('--debug adds the cause chain', async () => {
    const { err } = await run(['pull', 'a/b', '--bogus', '--debug']);
    expect(err[0]).toMatch(/^error: pull: Unknown option '--bogus'/);
    expect(err.length).toBeGreaterThan(1);
  });
});

describe('models pull: bad input', () => {
  it.each([
    [['pull'], /pull: missing <hub-id>/],
    [['pull', 'a/b', '--task', 'text-classification'], /pull: missing --revision/],
    [['pull', 'a/b', '--revision', 'main'], /pull: missing --task/],
    [
      ['pull', 'a/b', '--revision', 'main', '--task', 'sentiment'],
      /unknown task "sentiment"\. Must be one of \["text-classification"/,
    ],
    [
      ['pull', 'a/b', '--revision', 'main', '--task', 'translation', '--dtype', 'fp16'],
      /unknown --dtype "fp16"\. Must be one of \["fp32", "q8"\]/,
    ],
    [['pull', 'a/b', '--revision', 'main', '--task', 'language-identification'], /use "models convert-fasttext"/],
    [['pull', 'a/b', '--revision', 'main', '--task', 'translation', '--endpoint', 'nope'], /invalid --endpoint "nope"/],
    [['pull', 'a/b', '--frob'], /Unknown option '--frob'.*models pull --help/],
  ])('%j ends with one line and exit 2', async (argv, pattern) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expectOneLine(err, pattern);
  });

  it('gives up on an unreachable endpoint after retries, with one line', async () => {
    // Prepare: fetch fails like undici does on a refused connection.
    const fetchStub = vi.fn(async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    });
    vi.stubGlobal('fetch', fetchStub);
    // Act
    const { code, err } = await run([
      'pull',
      'a/b',
      '--revision',
      'main',
      '--task',
      'text-classification',
      '--endpoint',
      'http://hub.invalid',
    ]);
    // Assess
    expect(code).toBe(1);
    expect(fetchStub).toHaveBeenCalledTimes(5);
    expect(err.at(-1)).toBe('error: resolve a/b@main: failed after 5 attempts (ECONNREFUSED) at http://hub.invalid.');
  });

  it('fails at once on 401, sending HF_TOKEN as a bearer token', async () => {
    const fetchStub = vi.fn(async (_url: string, _init?: RequestInit) => new Response('', { status: 401 }));
    vi.stubGlobal('fetch', fetchStub);
    const { code, err } = await run(
      ['pull', 'a/b', '--revision', 'main', '--task', 'text-classification', '--endpoint', 'http://hub.invalid'],
      { HF_TOKEN: 'hf_secret' },
    );
    expect(code).toBe(1);
    expect(fetchStub).toHaveBeenCalledTimes(1);
    expect(fetchStub.mock.calls[0]?.[1]?.headers).toEqual({ Authorization: 'Bearer hf_secret' });
    expectOneLine(err, /answered 401: a\/b is private or gated; set HF_TOKEN/);
  });

  it('fails at once on 404 of a file, naming what to check', async () => {
    const fetchStub = vi.fn(async (url: string) =>
      url.includes('/api/models/') ? Response.json({ sha: SHA, siblings: [] }) : new Response('', { status: 404 }),
    );
    vi.stubGlobal('fetch', fetchStub);
    const { code, err } = await run([
      'pull',
      'a/b',
      '--revision',
      'v1',
      '--task',
      'text-classification',
      '--endpoint',
      'http://hub.invalid',
    ]);
    expect(code).toBe(1);
    expectOneLine(
      err,
      /a\/b@bbbbbbbbbbbb lacks \["config.json", "tokenizer.json", "tokenizer_config.json", "onnx\/model.onnx"\] needed for text-classification/,
    );
  });
});

describe('models import / validate: bad input', () => {
  let tmp: string | undefined;
  afterEach(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it.each([
    [['import'], /import: missing <dir>/],
    [['import', '.', '--task', 'text-classification', '--version', '1'], /import: missing --name/],
    [
      ['import', '.', '--task', 'text-classification', '--name', 'Bad Name', '--version', '1'],
      /invalid --name "Bad Name"/,
    ],
    [['validate'], /validate: missing <bundle-dir>/],
  ])('%j ends with one line and exit 2', async (argv, pattern) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expectOneLine(err, pattern);
  });

  it('import names the files a folder lacks for the task', async () => {
    const { code, err } = await run([
      'import',
      FIXTURE,
      '--task',
      'translation',
      '--name',
      'x',
      '--version',
      '1',
      '--out',
      os.tmpdir(),
    ]);
    expect(code).toBe(1);
    expectOneLine(
      err,
      /lacks \["generation_config.json", "onnx\/encoder_model.onnx", "onnx\/decoder_model_merged.onnx"\] needed for translation/,
    );
  });

  it("import copies only the task files and keeps a source bundle's labels", async () => {
    // Prepare
    tmp = await mkdtemp(path.join(os.tmpdir(), 'import-'));
    // Act
    const { code, out } = await run([
      'import',
      'test/fixtures/models/lid176/1',
      '--task',
      'language-identification',
      '--name',
      'lid',
      '--version',
      '7',
      '--out',
      tmp,
    ]);
    // Assess
    expect(code).toBe(0);
    expect(out[0]).toBe(`${path.join(tmp, 'lid', '7')} lid@7 language-identification 2 files`);
    const manifest = await readManifest(path.join(tmp, 'lid', '7'));
    expect(manifest.files.map((f) => f.path)).toEqual(['featurizer.json', 'onnx/model.onnx']);
    expect(manifest.labels).toHaveLength(176);
    expect(manifest.source).toEqual({ type: 'local', path: path.resolve('test/fixtures/models/lid176/1') });
  });

  it('validate refuses a folder without a manifest', async () => {
    const { code, err } = await run(['validate', os.tmpdir()]);
    expect(code).toBe(1);
    expectOneLine(err, /has no manifest.json; is it a bundle folder/);
  });

  it('validate names a missing file before loading anything', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'validate-'));
    await cp(FIXTURE, tmp, { recursive: true });
    await rm(path.join(tmp, 'tokenizer.json'), { force: true });
    const { code, err } = await run(['validate', tmp]);
    expect(code).toBe(1);
    expectOneLine(err, /tokenizer.json is missing \(listed in manifest.json\)/);
  });
});

describe('models publish / alias / list / warm: bad input', () => {
  it.each([
    [['publish', FIXTURE], /publish: missing --bucket/],
    [['publish', '--bucket', 'b'], /publish: missing <bundle-dir>/],
    [['alias'], /alias: missing <subcommand \(set\)>/],
    [['alias', 'get', 'prod', 'm@1', '--bucket', 'b'], /unknown subcommand "get"\. Must be one of \["set"\]/],
    [['alias', 'set', 'prod', 'm', '--bucket', 'b'], /"m" names no version; use <name>@<version>/],
    [['alias', 'set', 'prod', 'm@1', '--canary', '2', '--bucket', 'b'], /alias set: missing --weight/],
    [
      ['alias', 'set', 'prod', 'm@1', '--canary', '2', '--weight', '1.5', '--bucket', 'b'],
      /--weight must be a number from 0 to 1/,
    ],
    [['alias', 'set', 'Prod!', 'm@1', '--bucket', 'b'], /invalid alias "Prod!"/],
    [['list'], /list: missing --bucket \(or --dir/],
    [['list', '--bucket', 'b', '--dir', '.'], /either --bucket or --dir/],
    [['warm', 'm@1', '--bucket', 'b'], /warm: missing --cache/],
    [['warm', '--cache', 'c', '--bucket', 'b'], /warm: missing <name@version\|alias>/],
  ])('%j ends with one line and exit 2', async (argv, pattern) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expectOneLine(err, pattern);
  });

  it('warm names the known models when the reference is unknown', async () => {
    const { code, err } = await run(['warm', 'nope@1', '--cache', os.tmpdir(), '--dir', 'test/fixtures/models']);
    expect(code).toBe(2);
    expectOneLine(err, /Unknown model "nope"\. Available models: \[.*"tiny-distilbert-sentiment"/);
  });

  it('warm fills the cache and builds the pre-optimised graphs, unless --skip-optimize', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'hfserve-cli-warm-'));
    const skipped = await mkdtemp(path.join(os.tmpdir(), 'hfserve-cli-warm-skip-'));
    try {
      const warm = await run(['warm', 'tiny-gpt2@1', '--cache', cache, '--dir', 'test/fixtures/models']);
      const skip = await run([
        'warm',
        'tiny-gpt2@1',
        '--cache',
        skipped,
        '--dir',
        'test/fixtures/models',
        '--skip-optimize',
      ]);

      expect(warm.code).toBe(0);
      expect(warm.out).toEqual([path.join(cache, 'tiny-gpt2', '1')]);
      expect(warm.err.at(-1)).toMatch(
        new RegExp(`^warm: optimized graphs built in \\d+ ms: ${cache}/\\.optimized/tiny-gpt2/1/`),
      );
      expect(await findOptimizedGraphs(warm.out[0]!, { cacheDir: cache })).toBeDefined();
      expect(skip.code).toBe(0);
      expect(skip.err.join('\n')).not.toContain('optimized graphs');
      expect(await findOptimizedGraphs(skip.out[0]!, { cacheDir: skipped })).toBeUndefined();
    } finally {
      await rm(cache, { recursive: true, force: true });
      await rm(skipped, { recursive: true, force: true });
    }
  });

  it('list --dir prints the registry table', async () => {
    const { code, out } = await run(['list', '--dir', 'test/fixtures/models']);
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^NAME\s+TASK\s+VERSIONS\s+ALIASES$/);
    expect(out).toContainEqual(
      expect.stringMatching(/^tiny-distilbert-sentiment\s+text-classification\s+1,2\s+prod=1,canary=1\+2@0.3$/),
    );
  });

  it(
    'publish to an unreachable S3 endpoint ends with one line',
    async () => {
      const { code, err } = await run(['publish', FIXTURE, '--bucket', 'b', '--endpoint', 'http://127.0.0.1:9']);
      expect(code).toBe(1);
      expectOneLine(err, /cannot reach the S3 endpoint \(ECONNREFUSED\); is it running\? check --endpoint/);
    },
    S3_REFUSED_TIMEOUT_MS,
  );
});
