import { spawnSync } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '#packaging/cli.ts';
import { DEFAULT_OUT } from '#packaging/commands/pull.ts';
import { readManifest } from '#runtime/manifest.ts';
import { tempDir } from '../../helpers/bundles.ts';

/**
 * The models CLI's defaults: import writes outside the source tree's tracked and linted
 * files unless told otherwise, `alias set` works on a local registry (--dir) as list and
 * warm do, every --help names the flags a call needs, and README's list example runs.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const LID = path.join(ROOT, 'test/fixtures/models/lid176/1');
const SENTIMENT = path.join(ROOT, 'test/fixtures/models/tiny-distilbert-sentiment');

const run = async (argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    io: { out: (l) => out.push(...l.split('\n')), err: (l) => err.push(...l.split('\n')), isTTY: false },
    env: {},
    retryBaseMs: 0,
  });
  return { code, out, err };
};

const cwd = process.cwd();
afterEach(() => process.chdir(cwd));

describe('models import without --out', () => {
  it(`writes into ${DEFAULT_OUT} of the working directory`, async () => {
    // Prepare
    const work = await tempDir('import-default');
    process.chdir(work);
    // Act
    const { code } = await run(['import', LID, '--task', 'language-identification', '--name', 'lid', '--version', '2']);
    // Assess
    expect(code).toBe(0);
    expect((await readManifest(path.join(work, DEFAULT_OUT, 'lid', '2'))).name).toBe('lid');
  });

  it('writes where git ignores it and Biome does not look', async () => {
    const file = `${DEFAULT_OUT}/lid/2/manifest.json`;
    const ignored = spawnSync('git', ['check-ignore', '-q', file], { cwd: ROOT });
    const biome = JSON.parse(await readFile(path.join(ROOT, 'biome.json'), 'utf8')) as {
      files: { includes: string[] };
    };

    expect(ignored.status, `${file} must be gitignored`).toBe(0);
    expect(biome.files.includes).toContain(`!${DEFAULT_OUT.split('/')[0]}`);
  });
});

describe('models alias set --dir', () => {
  it('points an alias of a local registry at a version, and list shows it', async () => {
    // Prepare
    const registry = await tempDir('alias-dir');
    await cp(SENTIMENT, path.join(registry, 'tiny-distilbert-sentiment'), { recursive: true });
    // Act
    const set = await run(['alias', 'set', 'prod', 'tiny-distilbert-sentiment@2', '--dir', registry]);
    const list = await run(['list', '--dir', registry]);
    // Assess
    expect(set).toMatchObject({ code: 0, err: [] });
    expect(set.out).toEqual(['tiny-distilbert-sentiment@prod -> 2']);
    const aliases = JSON.parse(await readFile(path.join(registry, 'tiny-distilbert-sentiment/aliases.json'), 'utf8'));
    expect(aliases.prod).toEqual({ version: '2' });
    expect(list.out.find((l) => l.startsWith('tiny-distilbert-sentiment'))).toMatch(/prod=2/);
  });

  it('refuses a version the folder does not hold', async () => {
    const registry = await tempDir('alias-dir');
    await cp(SENTIMENT, path.join(registry, 'tiny-distilbert-sentiment'), { recursive: true });

    const { code, err } = await run(['alias', 'set', 'prod', 'tiny-distilbert-sentiment@9', '--dir', registry]);

    expect(code).toBe(1);
    expect(err[0]).toMatch(/tiny-distilbert-sentiment@9 is not published/);
  });
});

describe('every command --help', () => {
  /** The flags each command cannot run without (alone, or one of a pair). */
  const REQUIRED: Array<[string, string[]]> = [
    ['pull', ['--revision', '--task']],
    ['import', ['--task', '--name', '--version']],
    ['publish', ['--bucket']],
    ['alias', ['--bucket', '--dir']],
    ['list', ['--bucket', '--dir']],
    ['warm', ['--cache', '--bucket', '--dir']],
  ];

  it.each(REQUIRED)('%s --help names %j as required in its usage line and options', async (command, flags) => {
    const { code, out } = await run([command, '--help']);

    expect(code).toBe(0);
    for (const flag of flags) {
      expect(out[0], `usage line of ${command}`).toContain(flag);
      const option = out.find((l) => l.trimStart().startsWith(`${flag} `)) ?? '';
      if (flag === '--dir') expect(option).toMatch(/instead of S3/);
      else expect(option, `${command} ${flag}`).toMatch(/\(required/);
    }
  });

  it('import without --task names --task, which its --help marks required', async () => {
    const { code, err } = await run(['import', LID, '--name', 'x', '--version', '1']);

    expect(code).toBe(2);
    expect(err[0]).toMatch(/missing --task/);
  });
});

describe("README's models example", () => {
  it('runs as written', async () => {
    // Prepare
    const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
    const example = /`npm run models -- (list[^`]*)`/.exec(readme)?.[1];
    process.chdir(ROOT);
    // Act
    const { code, out } = await run((example ?? 'missing').split(' '));
    // Assess
    expect(example).toBeDefined();
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^NAME\s+TASK\s+VERSIONS\s+ALIASES$/);
    expect(out.some((l) => l.startsWith('tiny-gpt2'))).toBe(true);
  });
});
