import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Unit tests mirror the sources: `test/unit/<path>/<name>[.<aspect>].test.ts` tests
 * `<path>/<name>.ts` (a dotfile config for the tooling's own tests), so a file's tests are
 * found from its path and a test whose source moved or vanished fails here.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const UNIT = path.join(ROOT, 'test/unit');

const testFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(path.join(dir, e.name)) : e.name.endsWith('.test.ts') ? [path.join(dir, e.name)] : [],
  );

/** The source files a test file may be the test of. */
const sourcesOf = (testFile: string): string[] => {
  const rel = path.relative(UNIT, testFile);
  const [name = '', ...aspect] = path.basename(rel, '.test.ts').split('.');
  const dir = path.dirname(rel);
  return [path.join(dir, `${name}.ts`), path.join(dir, `.${name}.cjs`)].concat(
    aspect.length ? [] : [path.join(dir, name, 'index.ts')],
  );
};

describe('test/unit layout', () => {
  it('has a source file at the path of every unit test', () => {
    // This test checks the test tree itself: the one file without a source.
    const orphans = testFiles(UNIT)
      .filter((f) => f !== fileURLToPath(import.meta.url))
      .filter((f) => !sourcesOf(f).some((s) => existsSync(path.join(ROOT, s))));

    expect(orphans.map((f) => path.relative(ROOT, f))).toEqual([]);
  });

  it('maps a test, and a test of one aspect, to its source', () => {
    expect(sourcesOf(path.join(UNIT, 'layers/tasks/generation/generator.variant.test.ts'))[0]).toBe(
      'layers/tasks/generation/generator.ts',
    );
    expect(sourcesOf(path.join(UNIT, 'dependency-cruiser.test.ts'))).toContain('.dependency-cruiser.cjs');
  });
});
