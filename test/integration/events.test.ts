import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES } from '#functions/routes.ts';
import { DEFAULT_DEV_KEY } from '#local/config.ts';
import { runHandler } from '#local/run-handler.ts';
import type { LocalStack } from '#local/stack.ts';
import { routeEvents } from '../../scripts/make-events.ts';
import { seedFailedImport } from '../helpers/hub-stand-in.ts';
import { startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * events/: generated from the route table (scripts/make-events.ts), one event per route and
 * request example of every capability and one for the warm function; each passes its
 * function's handler, invoked as `npm run invoke` (and `sam local invoke`) invoke it.
 */
const EVENTS_DIR = path.resolve('events');
const files = readdirSync(EVENTS_DIR, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile())
  .map((e) => path.relative(EVENTS_DIR, path.join(e.parentPath, e.name)))
  .sort();

describe('events/', () => {
  let api: LocalStack;
  beforeAll(async () => {
    // The stack sets the functions' configuration (fixtures, dynalite in memory) for this process.
    // The events carry the README's dev key; the body-keyed LibreTranslate routes check it themselves.
    api = await startTestApi({}, { LOCAL_API_KEY: `${TEST_KEY}:1000:1000,${DEFAULT_DEV_KEY}` });
    // The import completions/imports.json asks about.
    await seedFailedImport(api, 'Xenova/tiny-gpt2@main');
  });
  afterAll(async () => api?.close());

  it('holds exactly what scripts/make-events.ts writes from the route table (regenerate: npx tsx scripts/make-events.ts)', () => {
    const expected = routeEvents();

    expect(files).toEqual(Object.keys(expected).sort());
    for (const file of files) expect(readFileSync(path.join(EVENTS_DIR, file), 'utf8'), file).toBe(expected[file]);
    expect(new Set(files.map((f) => f.split('/')[0]))).toEqual(new Set([...CAPABILITIES, 'warm']));
  });

  it.each(files)('%s passes its handler', async (file) => {
    const fn = file.split('/')[0] ?? '';
    const { handler } = (await import(`../../functions/${fn}/handler.ts`)) as {
      handler: Parameters<typeof runHandler>[0];
    };

    const result = await runHandler(handler, JSON.parse(readFileSync(path.join(EVENTS_DIR, file), 'utf8')), fn);

    if (fn === 'warm') {
      expect(result.warmed).toEqual([expect.objectContaining({ model: 'tiny-distilbert-sentiment@1' })]);
      return;
    }
    expect(result.statusCode, result.body).toBeGreaterThanOrEqual(200);
    expect(result.statusCode, result.body).toBeLessThan(300);
  });
});
