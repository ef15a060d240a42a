import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTDATED_EXIT_CODE } from '../../model-packaging/commands/outdated.ts';
import { runModelsCli } from '../helpers/models-cli.ts';

/**
 * `models outdated` against a stand-in of the Hub's revision API (`?blobs=true`, sha256 per
 * LFS file), over a local registry whose sentiment model was pulled from `acme/sentiment`.
 */
const FIXTURES = path.resolve('test/fixtures/models');
const REPO = 'acme/sentiment';
const PINNED = 'a'.repeat(40);
const NEWER = 'b'.repeat(40);

interface Manifest {
  files: Array<{ path: string; sha256: string }>;
  source: unknown;
}

/** What the stand-in answers for REPO's `main`: a commit, its files, their LFS sha256. */
const hubState = {
  sha: PINNED,
  files: [] as Array<{ rfilename: string; lfs?: { sha256: string } }>,
  queries: [] as string[],
};

const startHub = async (): Promise<{ server: Server; url: string }> => {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hubState.queries.push(url.search);
    if (url.pathname !== `/api/models/${REPO}/revision/main`) {
      res.statusCode = 404;
      res.end('{"error":"Repository not found"}');
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ sha: hubState.sha, siblings: hubState.files }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
};

const run = (argv: string[]) => runModelsCli(argv, { retryBaseMs: 1 });

describe('models outdated', () => {
  let hub: { server: Server; url: string };
  let registry: string;
  let manifest: Manifest;

  beforeAll(async () => {
    hub = await startHub();
    registry = await mkdtemp(path.join(os.tmpdir(), 'outdated-'));
    await cp(path.join(FIXTURES, 'tiny-distilbert-sentiment'), path.join(registry, 'sentiment'), { recursive: true });
    await cp(path.join(FIXTURES, 'lid176'), path.join(registry, 'lid176'), { recursive: true });
    // Both versions pulled from the Hub; the newest (2) pins PINNED.
    for (const version of ['1', '2']) {
      const file = path.join(registry, 'sentiment', version, 'manifest.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as Manifest & { name: string };
      m.name = 'sentiment';
      m.source = {
        type: 'hub',
        repo: REPO,
        revision: version === '2' ? PINNED : 'c'.repeat(40),
        requestedRevision: 'main',
      };
      await writeFile(file, JSON.stringify(m));
      if (version === '2') manifest = m;
    }
  });
  afterAll(async () => {
    await new Promise((resolve) => hub.server.close(resolve));
    await rm(registry, { recursive: true, force: true });
  });

  const sameFiles = () =>
    manifest.files
      .filter((f) => f.path !== 'golden.json')
      .map((f) => ({ rfilename: f.path, ...(f.path.endsWith('.onnx') ? { lfs: { sha256: f.sha256 } } : {}) }));

  it('says every model is current (exit 0) when the Hub still points at the pinned commit', async () => {
    hubState.sha = PINNED;
    hubState.files = sameFiles();

    const { code, out, err } = await run(['outdated', '--dir', registry, '--hub', hub.url]);

    expect(code).toBe(0);
    expect(out).toMatch(
      new RegExp(`sentiment\\s+2\\s+${REPO}\\s+main\\s+${PINNED.slice(0, 12)}\\s+${PINNED.slice(0, 12)}\\s+current`),
    );
    expect(out).not.toContain('lid176');
    expect(err).toContain('1 model(s) not pulled from the Hub, skipped');
    expect(hubState.queries.at(-1)).toBe('?blobs=true');
  });

  it(`lists changed, removed and added files of an outdated model (exit ${OUTDATED_EXIT_CODE})`, async () => {
    hubState.sha = NEWER;
    hubState.files = [
      ...sameFiles()
        .filter((f) => f.rfilename !== 'tokenizer_config.json')
        .map((f) => (f.rfilename === 'onnx/model.onnx' ? { ...f, lfs: { sha256: 'f'.repeat(64) } } : f)),
      { rfilename: 'special_tokens_map.json' },
      { rfilename: 'README.md' },
    ];

    const { code, out } = await run(['outdated', '--dir', registry, '--hub', hub.url]);

    expect(code).toBe(OUTDATED_EXIT_CODE);
    expect(out).toMatch(
      new RegExp(`sentiment\\s+2\\s+${REPO}\\s+main\\s+${PINNED.slice(0, 12)}\\s+${NEWER.slice(0, 12)}\\s+outdated`),
    );
    expect(out).toContain('  changed: onnx/model.onnx');
    expect(out).toContain('  removed: tokenizer_config.json');
    expect(out).toContain('  added: special_tokens_map.json');
    expect(out).not.toContain('README.md');
  });

  it('fails (exit 1) naming the model when its repository is gone, and says how to call it right', async () => {
    const gone = await run(['outdated', '--dir', registry, '--hub', `${hub.url}/elsewhere`]);
    const usage = await run(['outdated', '--dir', registry, '--hub', 'not a url']);
    const neither = await run(['outdated']);

    expect(gone.code).toBe(1);
    expect(gone.out).toMatch(/sentiment\s+2\s+.*failed/);
    expect(gone.out).toContain('not found (404)');
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--hub');
    expect(neither.code).toBe(2);
    expect(neither.err).toContain('--bucket');
  });
});
