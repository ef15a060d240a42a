import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import type { MetricsCollector } from '#local/metrics.ts';
import { localPages } from '#local/pages.ts';

const answer = async (url: string) => {
  const sent: { status?: number; body?: unknown } = {};
  const res = {
    writeHead: (status: number) => {
      sent.status = status;
    },
    end: (body: unknown) => {
      sent.body = body;
    },
  } as unknown as ServerResponse;
  const pages = localPages({ routes: ROUTES, metrics: {} as MetricsCollector, appNamespace: 'HfServe' });
  const handled = await pages({ method: 'GET', url, headers: {} } as IncomingMessage, res);
  return { handled, ...sent };
};

describe('local pages keyed by the URL', () => {
  it.each(['constructor', '__proto__', 'toString', 'hasOwnProperty.css'])(
    'answers 404 for the asset %s, a name of Object.prototype, not a failure',
    async (name) => {
      const res = await answer(`/assets/${name}`);

      expect(res).toMatchObject({ handled: true, status: 404, body: 'No such asset.' });
    },
  );

  it.each(['/constructor', '/__proto__'])('leaves %s to the emulator (its 404), not a page', async (url) => {
    expect((await answer(url)).handled).toBe(false);
  });
});
