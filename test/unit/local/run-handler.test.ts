import { describe, expect, it } from 'vitest';
import { runHandler } from '#local/run-handler.ts';

describe('runHandler', () => {
  const contextSeen = async () => ({
    statusCode: 200,
    body: globalThis.awslambda?.InvokeStore?.hasContext() ? 'in an invocation context' : 'no context',
  });

  it('runs the handler in an invoke-store context of its own, as the multi-concurrency runtime does', async () => {
    expect((await runHandler(contextSeen, {}, 'demo')).body).toBe('in an invocation context');
  });

  it('runs it with no invoke store when asked, as on-demand Lambda does', async () => {
    expect((await runHandler(contextSeen, {}, 'demo', { invokeStore: false })).body).toBe('no context');
  });
});
