import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { loggingRequests, MARKER, scanTables } from './privacy.ts';

let api: LocalStack;
beforeAll(async () => {
  api = await startTestApi({ STORE_RAW_INPUTS: 'true' });
});
afterAll(async () => api?.close());

describe('prediction log with STORE_RAW_INPUTS=true', () => {
  it('keeps the raw input of every record, from every capability', async () => {
    for (const [path, body] of loggingRequests) expect((await post(api, path, body)).status, path).toBe(200);

    const records = (await scanTables(api)).filter((i) => typeof i.capability === 'string');

    expect(new Set(records.map((r) => r.capability))).toEqual(
      new Set(['predict', 'detect', 'translate', 'completions']),
    );
    for (const r of records) {
      expect(r.input, `${r.capability} ${r.sk}`).toEqual(expect.stringContaining(MARKER));
      expect(r.inputLength).toBe((r.input as string).length);
    }
  });
});
