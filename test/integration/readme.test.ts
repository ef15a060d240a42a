import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, startTestApi } from '../helpers/local-api.ts';

/** README.md's claims that code can check: the answers' fields, and the npm scripts it names. */
const ROOT = path.resolve(import.meta.dirname, '../..');
let readme = '';
let api: LocalStack;

beforeAll(async () => {
  readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  api = await startTestApi();
});
afterAll(async () => {
  await api?.close();
});

describe('README.md', () => {
  it("shows the predict example's answer with the fields the API answers", async () => {
    // Prepare: the example answer, its elisions (…) made JSON.
    const line = /^# (\{"label".*\})$/m.exec(readme)?.[1] ?? '';
    const example = JSON.parse(line.replace(/(\d)…/g, '$1').replace(/\[…\]/g, '[]')) as Record<string, unknown>;
    // Act
    const res = await post(api, '/v1/predict', { text: 'I love this product, it works perfectly!' });
    // Assess
    expect(res.status).toBe(200);
    expect(Object.keys(example)).toEqual(Object.keys(res.body));
  });

  it("lists the fields of a detect answer's text as the API answers them", async () => {
    // Prepare
    const listed = /per text `\{([^}]*)\}`/.exec(readme)?.[1] ?? '';
    const fields = listed.split(',').map((f) => f.trim().replace(/:.*$/, ''));
    // Act
    const res = await post(api, '/v1/detect', { text: 'Bonjour tout le monde, comment allez-vous ?' });
    // Assess
    const { model: _model, requestId: _requestId, ...perText } = res.body;
    expect(fields).toEqual(Object.keys(perText));
  });

  it('names only npm scripts that exist, and every test script', async () => {
    const { scripts } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const named = new Set([...readme.matchAll(/npm run ([a-z][a-z0-9:]*)/g)].map((m) => m[1]!));

    expect([...named].filter((n) => !(n in scripts))).toEqual([]);
    expect(Object.keys(scripts).filter((s) => s.startsWith('test:') && !named.has(s))).toEqual([]);
  });
});
