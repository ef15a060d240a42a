import path from 'node:path';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxyEvent } from '#local/events.ts';
import { FunctionError, InstancePool } from '#local/instances.ts';
import type { ProxyHandler } from '#local/server.ts';
import type { LocalStack } from '#local/stack.ts';
import { get, post, recordsOf, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

const MISBEHAVING = path.resolve(import.meta.dirname, '../fixtures/handlers/misbehaving.ts');
const SHORT_TIMEOUT_MS = 1500;

const eventFor = (p: string): APIGatewayProxyEvent =>
  proxyEvent({
    method: 'GET',
    resource: p,
    path: p,
    pathParameters: null,
    headers: {},
    query: new URLSearchParams(),
    body: null,
  });
const noContext = {} as Context;

describe('instance pool (one request at a time per instance, like Lambda)', () => {
  let pool: InstancePool;
  beforeAll(() => {
    pool = new InstancePool({
      fn: 'predict',
      size: 2,
      entry: MISBEHAVING,
      env: process.env,
      timeoutMs: SHORT_TIMEOUT_MS,
    });
  });
  afterAll(async () => pool.close());

  it('starts at most `size` instances and queues the rest in arrival order', async () => {
    const handler = pool.handler(false) as ProxyHandler;
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => handler(eventFor(`/ok/${i}`), noContext)));
    const pids = new Set(results.map((r) => (JSON.parse(r.body) as { pid: number }).pid));
    expect(results.map((r) => (JSON.parse(r.body) as { path: string }).path)).toEqual(
      Array.from({ length: 6 }, (_, i) => `/ok/${i}`),
    );
    expect(pids.size).toBe(2);
    expect(pool.stats.started).toBe(2);
    expect(pool.stats.queued).toBe(4);
    expect(pool.stats.invocations).toBe(6);
    expect(pool.stats.initMs).toHaveLength(2);
  });

  it('fails an invocation whose instance dies, and replaces the instance', async () => {
    const handler = pool.handler(false) as ProxyHandler;
    await expect(handler(eventFor('/crash'), noContext)).rejects.toBeInstanceOf(FunctionError);
    const after = await handler(eventFor('/ok/again'), noContext);
    expect(after.statusCode).toBe(200);
  });

  it('gives an invocation to another instance when its idle one was killed before taking it', async () => {
    const handler = pool.handler(false) as ProxyHandler;
    // Two warm instances, both idle.
    await Promise.all([handler(eventFor('/ok/a'), noContext), handler(eventFor('/ok/b'), noContext)]);
    const started = pool.stats.started;
    // Killed from outside while idle; the invocations are sent before the emulator sees either exit.
    for (const pid of pool.pids()) process.kill(pid, 'SIGKILL');
    const [first, second] = await Promise.all([
      handler(eventFor('/ok/after-kill-1'), noContext),
      handler(eventFor('/ok/after-kill-2'), noContext),
    ]);
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(pool.stats.started).toBe(started + 2);
  });

  it('kills an instance that runs past the function timeout', async () => {
    const handler = pool.handler(false) as ProxyHandler;
    const before = pool.pids();
    await expect(handler(eventFor('/hang'), noContext)).rejects.toThrow(/timed out/);
    expect((await handler(eventFor('/ok/later'), noContext)).statusCode).toBe(200);
    // The instance that hung is gone (whichever of the warm ones took it); the pool still serves.
    await expect.poll(() => before.filter((pid) => !pool.pids().includes(pid))).toHaveLength(1);
  });
});

describe('local API with LOCAL_FUNCTION_CONCURRENCY instances', () => {
  let api: LocalStack;
  beforeAll(async () => {
    // Metrics on (the tests turn them off elsewhere): the instances' EMF must reach the metrics view.
    api = await startTestApi(
      { POWERTOOLS_METRICS_DISABLED: 'false' },
      { LOCAL_FUNCTION_CONCURRENCY: '2', LOCAL_EMF_ECHO: 'false' },
    );
  });
  afterAll(async () => api?.close());

  it('serves predictions from instance processes, logging every record', async () => {
    const texts = Array.from({ length: 5 }, (_, i) => `Instance test number ${i}: this works well.`);
    const answers = await Promise.all(texts.map((text) => post(api, '/v1/predict', { text })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    for (const a of answers) expect((await recordsOf(api, a.body.requestId as string)).length).toBe(1);
    const pool = api.pools.get('predict')!;
    expect(pool.stats.started).toBeLessThanOrEqual(2);
    expect(pool.pids().length).toBe(pool.stats.started);
    expect(pool.pids()).not.toContain(process.pid);
  });

  it('gives the metrics view the EMF the instances print, under their function', async () => {
    await post(api, '/v1/predict', { text: 'Metrics from an instance process.' });
    const res = await fetch(`${api.url}/metrics-view/data?minutes=5`);
    const view = (await res.json()) as {
      emfSamples: number;
      panels: Array<{ id: string; series: Array<{ metric: { name: string }; value: number | null }> }>;
    };
    const model = view.panels.find((p) => p.id === 'predict-model')!;

    expect(view.emfSamples).toBeGreaterThan(0);
    expect(model.series.find((s) => s.metric.name === 'InferenceMs')?.value).toBeGreaterThan(0);
    // Each instance is a cold start, as each Lambda execution environment is.
    const started = api.pools.get('predict')!.stats.started;
    expect(started).toBeGreaterThan(1);
    expect(model.series.find((s) => s.metric.name === 'ColdStart')?.value).toBe(started);
  });

  it('streams server-sent events from an instance chunk by chunk', async () => {
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({ model: 'tiny-gpt2', prompt: 'Hello', max_tokens: 4, stream: true, seed: 1 }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.length).toBeGreaterThanOrEqual(3);
  });

  it('answers the functions’ own errors unchanged', async () => {
    const bad = await post(api, '/v1/predict', { text: '' });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { message: string }).message).toMatch(/text/);
    expect((await get(api, '/health', {})).status).toBe(200);
  });
});
