import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionPanels } from '#observability/dashboard.ts';
import { APP_METRICS, type AppMetricName } from '#observability/names.ts';
import { DOCKERFILE, handlerCommand, IMAGE_CONTEXT, REPO_ROOT } from '../../infra/lib/image.ts';
import { type ImageFunctionName, STAGES } from '../../infra/lib/stages.ts';
import { tempDir } from '../helpers/bundles.ts';
import { cachedReplay } from '../helpers/image-replay.ts';
import { type RunningFunction, runtimeClientInstalled, startFunction } from '../helpers/lambda-runtime.ts';
import { HTTP_INTEGRATION_CONTENT_TYPE, type RuntimeApi, startRuntimeApi } from '../helpers/runtime-api.ts';
import { apiEvent } from '../helpers/runtime-events.ts';
import { imageFunctionEnv, SYNTH_TIMEOUT_MS } from './synth.ts';

/**
 * Every function of the image, run as its command runs it in Lambda: the AWS runtime
 * interface client (`aws-lambda-ric`, the Node.js base image's runtime) imports the bundle
 * from the replayed image's task root and talks HTTP to a Runtime API stand-in on loopback.
 */
const REPLAY_TIMEOUT_MS = 300_000;
const INVOKE_TIMEOUT_MS = 60_000;
/** How long a test waits for what the function prints or asks for next (not a speed target). */
const OUTPUT_WAIT_MS = 5_000;
/** How long a test waits for an init that loads a model, on a busy machine (not a speed target). */
const INIT_WAIT_MS = 30_000;

// CI installs the client's build tools (.ci/run); elsewhere a machine without them skips these tests, loudly.
const installed = runtimeClientInstalled();
if (!installed && process.env.CI) throw new Error('aws-lambda-ric is not installed: CI must run the Runtime API tests');
if (!installed)
  console.warn('aws-lambda-ric is not installed (needs cmake, autoconf, automake, libtool): Runtime API tests skipped');

let taskRoot: string;
let cacheDir: string;

/** The function's environment in the dev stage, with the registry on disk and DynamoDB unreachable (records fall back). */
const envOf = (fn: ImageFunctionName, extra: Record<string, string> = {}): Record<string, string> => {
  const { MODEL_BUCKET: _deployOnly, ...env } = imageFunctionEnv('dev', fn);
  return {
    ...env,
    MODELS_DIR: path.join(REPO_ROOT, 'test/fixtures/models'),
    MODEL_CACHE_DIR: cacheDir,
    DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ...extra,
  };
};

/** True once `check` holds, polled for at most `waitMs` (OUTPUT_WAIT_MS by default; a child's stdout and its HTTP calls arrive on their own). */
const eventually = async (check: () => boolean, waitMs = OUTPUT_WAIT_MS): Promise<boolean> => {
  const until = Date.now() + waitMs;
  while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return check();
};

const started: { name: ImageFunctionName; api: RuntimeApi; fn: RunningFunction }[] = [];
const run = async (name: ImageFunctionName, extra: Record<string, string> = {}) => {
  const api = await startRuntimeApi();
  const [handler = ''] = handlerCommand(name);
  const fn = startFunction({ taskRoot, handler, runtimeApi: api.address, env: envOf(name, extra) });
  started.push({ name, api, fn });
  return { api, fn };
};

const bodyOf = (payload: Buffer) => JSON.parse(payload.toString('utf8')) as { statusCode: number; body: string };

describe.skipIf(!installed)('the image run by the Lambda runtime client against a Runtime API stand-in', () => {
  beforeAll(async () => {
    const stages = await cachedReplay({
      repoRoot: REPO_ROOT,
      dockerfile: DOCKERFILE,
      contextIgnore: IMAGE_CONTEXT,
      buildArgs: { TARGETARCH: '' },
    });
    const final = stages.at(-1);
    taskRoot = path.join(final?.root ?? '', final?.env.LAMBDA_TASK_ROOT ?? '');
    cacheDir = await tempDir('ric-cache');
  }, REPLAY_TIMEOUT_MS);

  afterAll(async () => {
    for (const { api, fn } of started) {
      await fn.stop();
      await api.close();
    }
  });

  it(
    'predict: answers next with /response, then stays warm for the next invocation',
    async () => {
      const { api, fn } = await run('predict');

      const first = await api.invoke(apiEvent('POST', '/v1/predict', { text: 'I love this product' }));
      const second = await api.invoke(apiEvent('GET', '/v1/status'));

      expect(first.kind, fn.output()).toBe('response');
      expect(first.headers['lambda-runtime-function-response-mode']).toBeUndefined();
      const answer = bodyOf(first.payload);
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        label: expect.any(String),
        model: { name: 'tiny-distilbert-sentiment' },
      });
      expect(bodyOf(second.payload).statusCode).toBe(200);
      // One process served both (the second found the model loaded) and asked for a third.
      expect(JSON.parse(bodyOf(second.payload).body).models).toEqual([
        expect.objectContaining({ key: 'tiny-distilbert-sentiment@1' }),
      ]);
      expect(await eventually(() => api.nextCalls === 3)).toBe(true);
      expect(fn.output().match(/"ColdStart":1/g)).toHaveLength(1);
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'provisioned concurrency: the default model is loaded before the runtime asks for its first event; on demand it is not',
    async () => {
      const provisioned = await run('predict', { AWS_LAMBDA_INITIALIZATION_TYPE: 'provisioned-concurrency' });
      const onDemand = await run('predict', { AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand' });

      // Init ends when the runtime client asks for its first event: nothing was invoked yet.
      const initEnded = await eventually(
        () => provisioned.api.nextCalls === 1 && onDemand.api.nextCalls === 1,
        INIT_WAIT_MS,
      );
      const status = async (api: RuntimeApi) =>
        JSON.parse(bodyOf((await api.invoke(apiEvent('GET', '/v1/status'))).payload).body) as {
          models: Array<{ key: string; loadMs: number }>;
        };

      expect(initEnded, provisioned.fn.output()).toBe(true);
      // /v1/status loads nothing: what it lists was loaded during init.
      expect((await status(provisioned.api)).models).toEqual([
        expect.objectContaining({ key: 'tiny-distilbert-sentiment@1', loadMs: expect.any(Number) }),
      ]);
      expect((await status(onDemand.api)).models).toEqual([]);
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'detect and translate: answer next with /response',
    async () => {
      const detect = await run('detect');
      const translate = await run('translate');

      const detected = await detect.api.invoke(apiEvent('POST', '/v1/detect', { text: 'Bonjour tout le monde' }));
      const translated = await translate.api.invoke(
        apiEvent('POST', '/v1/translate', { text: 'Hello', target_language: 'fra_Latn', source_language: 'eng_Latn' }),
      );

      expect(bodyOf(detected.payload).statusCode, detect.fn.output()).toBe(200);
      expect(JSON.parse(bodyOf(detected.payload).body).language).toBe('fr');
      expect(bodyOf(translated.payload).statusCode, translate.fn.output()).toBe(200);
      expect(JSON.parse(bodyOf(translated.payload).body).translations).toHaveLength(1);
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'an API function answers its own errors in the envelope through /response (never /error, which API Gateway turns into a bare 502)',
    async () => {
      const { api } = await run('predict');

      const result = await api.invoke(apiEvent('POST', '/v1/predict', { texts: 'not a list' }));

      expect(result.kind).toBe('response');
      expect(bodyOf(result.payload).statusCode).toBe(400);
      expect(JSON.parse(bodyOf(result.payload).body).error.code).toBe('validation_error');
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'completions, streamed: the HTTP-integration prelude, 8 NUL bytes, SSE to [DONE], no error trailers, metrics of this invocation',
    async () => {
      const { api, fn } = await run('completions');

      const result = await api.invoke(
        apiEvent('POST', '/v1/chat/completions', {
          model: 'tiny-gpt2',
          stream: true,
          max_tokens: 4,
          messages: [{ role: 'user', content: 'Hello' }],
        }),
      );

      expect(result.streamed, fn.output()).toBe(true);
      expect(result.headers['transfer-encoding']).toBe('chunked');
      expect(result.headers['content-type']).toBe(HTTP_INTEGRATION_CONTENT_TYPE);
      expect(result.headers.trailer).toMatch(/Lambda-Runtime-Function-Error-Type/);
      expect(result.prelude).toMatchObject({
        statusCode: 200,
        headers: { 'content-type': expect.stringMatching(/^text\/event-stream/) },
      });
      const text = result.payload.toString('utf8');
      expect(text).toMatch(/^data: \{/);
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(result.trailers['lambda-runtime-function-error-type']).toBeUndefined();
      // Published before the stream ended, not with the next invocation's metrics.
      expect(await eventually(() => /"TokensGenerated":\d/.test(fn.output()))).toBe(true);
      expect(await eventually(() => /"InferenceMs":\d/.test(fn.output()))).toBe(true);
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'completions, buffered: one JSON answer after the prelude, through the same streaming response',
    async () => {
      const { api } = await run('completions');

      const result = await api.invoke(
        apiEvent('POST', '/v1/completions', { model: 'tiny-gpt2', prompt: 'Hello', max_tokens: 3 }),
      );

      expect(result.streamed).toBe(true);
      expect(result.prelude?.statusCode).toBe(200);
      expect(JSON.parse(result.payload.toString('utf8'))).toMatchObject({
        object: 'text_completion',
        choices: [expect.any(Object)],
      });
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'warm: answers a direct invocation with /response, and a handler error with /error and its type',
    async () => {
      const { api } = await run('warm');

      const ok = await api.invoke({ model: 'tiny-distilbert-sentiment@1' });
      const bad = await api.invoke({ model: '' });

      expect(ok.kind).toBe('response');
      expect(JSON.parse(ok.payload.toString('utf8')).warmed[0]).toMatchObject({ model: 'tiny-distilbert-sentiment@1' });
      expect(bad.kind).toBe('error');
      // The native client sends the error's X-Ray cause beside the body.
      expect(JSON.parse(String(bad.headers['lambda-runtime-function-xray-error-cause'])).exceptions[0].type).toBe(
        'ValidationError',
      );
      expect(bad.error).toMatchObject({ errorType: 'ValidationError', errorMessage: expect.stringContaining('model') });
    },
    INVOKE_TIMEOUT_MS,
  );

  it(
    'authorizer: a request with no key is the error Unauthorized (API Gateway’s 401), posted to /error',
    async () => {
      const { api, fn } = await run('authorizer');

      const out = await api.invoke({
        type: 'REQUEST',
        methodArn: 'arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/v1/status',
        headers: { authorization: 'Basic eDp5' },
      });

      expect(out.kind, fn.output()).toBe('error');
      expect(out.error).toMatchObject({ errorMessage: 'Unauthorized' });
    },
    INVOKE_TIMEOUT_MS,
  );

  it.each(['predict', 'detect', 'translate', 'completions', 'warm'] as const)(
    '%s: a configuration error at init is posted to /init/error and the process exits',
    async (name) => {
      const { api, fn } = await run(name, { MAX_TEXT_CHARS: 'lots' });

      const init = await api.initError;

      expect(init.headers['lambda-runtime-function-error-type']).toBe('ConfigurationError');
      expect(init.error.errorMessage).toMatch(/MAX_TEXT_CHARS/);
      expect(await fn.exited).not.toBe(0);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('every metric the functions printed is declared in APP_METRICS with the dimension set it was published under', () => {
    const lines = started.flatMap(({ fn }) => fn.output().split('\n')).filter((l) => l.startsWith('{"_aws"'));
    const seen = new Set<string>();

    for (const line of lines) {
      const emf = JSON.parse(line) as {
        _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
      };
      for (const directive of emf._aws.CloudWatchMetrics) {
        expect(directive.Namespace).toBe(STAGES.dev.metricsNamespace);
        for (const metric of directive.Metrics) {
          const declared = APP_METRICS[metric.Name as AppMetricName];
          expect(declared, metric.Name).toBeDefined();
          expect(
            directive.Dimensions.map((d) => [...d].sort()),
            metric.Name,
          ).toEqual([[...declared.dimensions].sort()]);
          seen.add(metric.Name);
        }
      }
    }
    // The runs above reach every capability's metrics.
    for (const name of ['ColdStart', 'InferenceMs', 'Predictions', 'Detections', 'Translations', 'TokensGenerated']) {
      expect(seen, name).toContain(name);
    }
  });

  it('every application metric on a function’s dashboard panels is one that function printed (no empty series)', () => {
    for (const name of ['predict', 'detect', 'translate', 'completions'] as const) {
      const printed = started
        .filter((s) => s.name === name)
        .flatMap(({ fn }) => fn.output().split('\n'))
        .filter((l) => l.startsWith('{"_aws"'))
        .flatMap((l) => Object.keys(JSON.parse(l) as object));
      const drawn = functionPanels(name)
        .flatMap((p) => [...p.left, ...p.right])
        .filter((m) => m.source === 'app')
        .map((m) => m.name);

      for (const metric of new Set(drawn)) expect(printed, `${name} ${metric}`).toContain(metric);
    }
  });
});
