import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { coldStartClock, coldStartMiddleware, type InitClock } from '#http/cold-start.ts';
import { json } from '#http/response.ts';
import type { ApiEvent, ApiResult } from '#http/types.ts';

const context = { awsRequestId: 'aws-1' } as Context;
const event = { requestContext: { requestId: 'r' } } as ApiEvent;

/**
 * A function whose init began at t=`initStart` and whose handler was built at t=`builtAt`
 * (the clock's creation), on a fake clock; each invocation takes `work` ms of it.
 */
const setup = ({ initStart = 0, builtAt = 400, work = 30 } = {}) => {
  let t = builtAt;
  const fake: InitClock = { now: () => t, initStart: () => initStart };
  const clock = coldStartClock(fake);
  const fn = (fail = false) =>
    middy<ApiEvent, ApiResult, Error, Context>()
      .use(coldStartMiddleware(clock))
      .handler(async () => {
        t += work;
        if (fail) throw new Error('boom');
        return json({});
      });
  return { clock, fn, idle: (ms: number) => (t += ms) };
};

describe('coldStartClock', () => {
  it('is unset before the first invocation ends', () => {
    expect(setup().clock.ms).toBeUndefined();
  });

  it('is the init plus the first invocation, without the idle time between, and only the first', async () => {
    const { clock, fn, idle } = setup({ initStart: 0, builtAt: 400, work: 30 });
    idle(60_000); // provisioned concurrency, or an instance waiting for its first request
    await fn()(event, context);
    await fn()(event, context);

    expect(clock.ms).toBe(430);
  });

  it("counts the init from the emulator's mark when the function is loaded into a running process", async () => {
    const { clock, fn } = setup({ initStart: 90_000, builtAt: 90_250, work: 30 });
    await fn()(event, context);

    expect(clock.ms).toBe(280);
  });

  it('keeps one clock per function: another function in the process does not set it', async () => {
    const detect = setup();
    const predict = setup();
    await detect.fn()(event, context);

    expect(detect.clock.ms).toBe(430);
    expect(predict.clock.ms).toBeUndefined();
  });

  it('marks a first invocation that failed, as Lambda counts it', async () => {
    const { clock, fn } = setup();
    await expect(fn(true)(event, context)).rejects.toThrow('boom');

    expect(clock.ms).toBe(430);
  });
});
