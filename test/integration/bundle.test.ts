import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { init, parse } from 'es-module-lexer';
import { beforeAll, describe, expect, it } from 'vitest';
import { CAPABILITIES, ROUTES } from '#functions/routes.ts';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { parseRecordsLine } from '#predictions/ingest.ts';
import { loadConfig } from '#runtime/config.ts';
import { tempDir } from '../helpers/bundles.ts';
import { post, startTestApi } from '../helpers/local-api.ts';
import { BUCKET, PREFIX, putTree, startTestS3 } from '../helpers/s3.ts';

const run = promisify(execFile);
const BUILD_TIMEOUT_MS = 120_000;

/** Invokes a built bundle in a plain Node process, as the Lambda runtime would load it. */
const invokeBundle = async (fn: string, eventFile: string, env: Record<string, string | undefined>) => {
  const script = `
    const { handler } = await import(process.cwd() + '/dist/functions/${fn}/handler.mjs');
    const event = JSON.parse(await (await import('node:fs/promises')).readFile('${eventFile}', 'utf8'));
    const ctx = { awsRequestId: 'bundle-test', functionName: '${fn}', getRemainingTimeInMillis: () => 20000 };
    process.stdout.write('\\n@@' + JSON.stringify(await handler(event, ctx)));`;
  // Plain Node, as one-concurrency Lambda: no invoke store, so not the variable the emulator's
  // shim sets in this test process (local/lambda-shim.ts) to scope Powertools' state by invocation.
  const { AWS_LAMBDA_MAX_CONCURRENCY: _shimOnly, ...inherited } = process.env;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    // A variable given as undefined is unset in the child.
    env: Object.fromEntries(Object.entries({ ...inherited, ...env }).filter(([, v]) => v !== undefined)),
    timeout: BUILD_TIMEOUT_MS,
  });
  const at = stdout.lastIndexOf('\n@@');
  return {
    ...(JSON.parse(stdout.slice(at + 3)) as { statusCode: number; body: string }),
    /** The lines the function printed (its log stream) before answering. */
    printed: stdout.slice(0, at).split('\n'),
  };
};

/**
 * The packages of the code a bundle loads at start: its handler file and the chunks it
 * imports statically (read with an ES module lexer), each file's sources named by its source
 * map. What it only reaches through `import()` is left out: a cold start does not parse it.
 */
const packagesAtStart = async (fn: string): Promise<{ atStart: Set<string>; onDemand: Set<string> }> => {
  await init;
  const packages = (file: string) =>
    readFile(`${file}.map`, 'utf8').then(
      (map) =>
        new Set(
          (JSON.parse(map) as { sources: string[] }).sources.map(
            (s) => s.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? 'own code',
          ),
        ),
    );
  /** Every file reachable from `file`, by static imports only or by any. */
  const reach = async (file: string, dynamicToo: boolean, into: Set<string>): Promise<Set<string>> => {
    if (into.has(file)) return into;
    into.add(file);
    const [imports] = parse(await readFile(file, 'utf8'));
    for (const i of imports) {
      if (i.n?.startsWith('.') && (dynamicToo || i.d === -1))
        await reach(path.resolve(path.dirname(file), i.n), dynamicToo, into);
    }
    return into;
  };
  const entry = path.resolve(`dist/functions/${fn}/handler.mjs`);
  const startFiles = await reach(entry, false, new Set());
  const allFiles = await reach(entry, true, new Set());
  const atStart = new Set<string>();
  for (const file of startFiles) for (const p of await packages(file)) atStart.add(p);
  const onDemand = new Set<string>();
  for (const file of allFiles) if (!startFiles.has(file)) for (const p of await packages(file)) onDemand.add(p);
  return { atStart, onDemand };
};

describe('function bundles (npm run build)', () => {
  beforeAll(async () => {
    await run('npx', ['tsx', 'scripts/build.ts'], { timeout: BUILD_TIMEOUT_MS });
  }, BUILD_TIMEOUT_MS);

  it('builds one bundle per capability that has a handler, exporting `handler`', async () => {
    const text = await readFile('dist/functions/predict/handler.mjs', 'utf8');

    expect(text).toMatch(/export\s*\{[^}]*\bhandler\b/);
    expect(text).not.toMatch(/from "\.\.\/\.\.\/layers/); // layers are inlined
    expect(CAPABILITIES).toContain('predict');
  });

  it('leaves the AWS SDK out of what each capability loads at start: it comes with the first DynamoDB call', async () => {
    for (const fn of CAPABILITIES) {
      const { atStart, onDemand } = await packagesAtStart(fn);
      const sdk = (set: Set<string>) => [...set].filter((p) => p.startsWith('@aws-sdk/') || p.startsWith('@smithy/'));

      expect(sdk(atStart), fn).toEqual([]);
      expect(sdk(onDemand), fn).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']));
      expect(atStart, fn).toContain('@middy/core');
    }
  });

  it('writes the OpenAPI document of the route table to dist/openapi.json', async () => {
    const doc = JSON.parse(await readFile('dist/openapi.json', 'utf8')) as { openapi: string; paths: object };

    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(ROUTES.map((r) => r.path))].sort());
  });

  it('serves an event file from the bundle in plain Node', async () => {
    const cache = await tempDir('bundle-cache');
    const golden = JSON.parse(await readFile('test/fixtures/models/tiny-distilbert-sentiment/1/golden.json', 'utf8'));

    const result = await invokeBundle('predict', 'events/predict/predict.json', {
      MODEL_CACHE_DIR: cache,
      MODELS_DIR: `${process.cwd()}/test/fixtures/models`,
      LOG_LEVEL: 'SILENT',
      // No DynamoDB here: a cold request of a small model needs none (records and model state
      // leave as log lines; the shared result cache is not asked before the model's first load).
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
    });

    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body) as { label: string; score: number };
    expect(body.label).toBe(golden.cases[0].label);
    expect(body.score).toBeCloseTo(golden.cases[0].scores[body.label], 4);
    const lines = result.printed.map(parseRecordsLine).filter((l) => l !== undefined);
    expect(lines.flatMap((l) => l.models ?? []).map((m) => [m.model, m.state])).toEqual([
      ['tiny-distilbert-sentiment@1', 'loading'],
      ['tiny-distilbert-sentiment@1', 'loaded'],
    ]);
    expect(lines.flatMap((l) => l.records)).toHaveLength(1);
  });

  /** A container credentials endpoint (what ECS and Lambda's SnapStart use): one set of keys. */
  const credentialsServer = async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests += 1;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          AccessKeyId: 'bundle-test',
          SecretAccessKey: 'bundle-test',
          Token: 'bundle-test',
          Expiration: new Date(Date.now() + 3_600_000).toISOString(),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      uri: `http://127.0.0.1:${port}/credentials`,
      requests: () => requests,
      close: () => new Promise((r) => server.close(r)),
    };
  };

  // No DYNAMODB_ENDPOINT (which gives the client fixed local keys): the SDK's default provider
  // chain finds the keys, as in AWS, and its own endpoint variable points it at dynalite. The
  // environment's keys are Lambda's case; the container endpoint's provider is one of the
  // chunks the bundle only imports on demand (scripts/build.ts).
  it.each([
    ['the environment (as in Lambda)', 'env'],
    ['a container endpoint (a chunk imported on demand)', 'container'],
  ] as const)('reaches DynamoDB with keys from %s through the SDK default chain', async (_name, source) => {
    // Prepare
    const db = await startDynalite('memory');
    // A table of its own: in-memory dynalites of one process may share their store.
    const c = loadConfig({ DYNAMODB_ENDPOINT: db.endpoint, MODEL_STATE_TABLE: `model-state-${source}` });
    await ensureLocalTables(makeDocumentClient(c), c);
    const creds = source === 'container' ? await credentialsServer() : undefined;
    try {
      // Act
      const holder = 'translate/elsewhere';
      await makeDocumentClient(c).send(
        new PutCommand({
          TableName: c.MODEL_STATE_TABLE,
          Item: {
            model: 'tiny-distilbert-sentiment@1',
            holder,
            state: 'loaded',
            seq: 1,
            task: 'text-classification',
            expiresAt: Math.floor(Date.now() / 1000) + 600,
          },
        }),
      );
      const result = await invokeBundle('predict', 'events/predict/status.json', {
        MODEL_CACHE_DIR: await tempDir('bundle-cache'),
        MODELS_DIR: `${process.cwd()}/test/fixtures/models`,
        LOG_LEVEL: 'SILENT',
        DYNAMODB_ENDPOINT: undefined,
        AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
        AWS_REGION: c.AWS_REGION,
        MODEL_STATE_TABLE: c.MODEL_STATE_TABLE,
        AWS_ACCESS_KEY_ID: creds ? undefined : 'bundle-test',
        AWS_SECRET_ACCESS_KEY: creds ? undefined : 'bundle-test',
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: creds?.uri,
      });
      // Assess: the status route's answer holds what the function read from DynamoDB (the models' shared state).
      expect(result.statusCode).toBe(200);
      const { functions } = JSON.parse(result.body) as {
        functions: Record<string, { models: Array<{ model: string }> }>;
      };
      expect(functions.translate?.models.map((m) => m.model)).toEqual(['tiny-distilbert-sentiment@1']);
      if (creds) expect(creds.requests()).toBeGreaterThan(0);
    } finally {
      await creds?.close();
      await db.close();
    }
  });

  it('serves a model from an S3 registry, whose client the bundle imports on the first read', async () => {
    // Prepare: the fixture model in a bucket (s3rver); no MODELS_DIR registry.
    const s3 = await startTestS3(await tempDir('bundle-s3'));
    try {
      await putTree(s3, 'test/fixtures/models/tiny-distilbert-sentiment/1', 'tiny-distilbert-sentiment/1');
      // Act
      const result = await invokeBundle('predict', 'events/predict/predict.json', {
        ...s3.env,
        MODELS_DIR: undefined,
        MODEL_CACHE_DIR: await tempDir('bundle-cache'),
        LOG_LEVEL: 'SILENT',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:9',
      });
      // Assess: answered, with the model's files read from the bucket.
      expect(result.statusCode, result.body).toBe(200);
      expect(s3.requests.map((r) => r.path)).toContain(
        `/${BUCKET}/${PREFIX}/tiny-distilbert-sentiment/1/manifest.json`,
      );
    } finally {
      await s3.close();
    }
  });

  it(
    'serves the default MODELS_DIR through the emulator with LOCAL_FUNCTION_CODE=dist (relative to the cwd, not the bundle)',
    async () => {
      // Prepare: MODELS_DIR unset, so the default relative path test/fixtures/models applies.
      const { MODELS_DIR: _unset, ...env } = process.env;
      const api = await startTestApi(env as Record<string, string>, {
        LOCAL_FUNCTION_CONCURRENCY: '1',
        LOCAL_FUNCTION_CODE: 'dist',
        LOCAL_EMF_ECHO: 'false',
      });
      try {
        // Act
        const res = await post(api, '/v1/predict', { text: 'I love this product' });
        // Assess
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.model).toMatchObject({ name: 'tiny-distilbert-sentiment', version: '1' });
        expect(api.pools.get('predict')?.stats.started).toBe(1);
      } finally {
        await api.close();
      }
    },
    BUILD_TIMEOUT_MS,
  );
});
