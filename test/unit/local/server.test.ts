import { afterEach, describe, expect, it, vi } from 'vitest';
import { startLocalApi } from '#local/server.ts';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  vi.restoreAllMocks();
});

describe('the emulator when the integration fails', () => {
  it('answers 502 with a request id that is in x-request-id, the body and the error log line', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    const api = await startLocalApi({
      port: 0,
      host: '127.0.0.1',
      apiKeys: ['k'],
      rate: 100,
      burst: 100,
      timeoutMs: 5_000,
      loadHandler: async () => {
        throw new Error('the function would not load');
      },
    });
    close = api.close;

    const res = await fetch(`${api.url}/v1/detect`, {
      method: 'POST',
      headers: { 'x-api-key': 'k', 'content-type': 'application/json' },
      body: '{"text":"hello"}',
    });
    const body = (await res.json()) as { error: { code: string; requestId: string } };

    expect(res.status).toBe(502);
    expect(body.error.code).toBe('bad_gateway');
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
    expect(lines.some((l) => l.includes(body.error.requestId))).toBe(true);
  });
});
