import { gzipSync } from 'node:zlib';
import { GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite } from '#local/stack.ts';
import { ensureLocalTables, makeDocumentClient } from '#predictions/client.ts';
import { modelStatesLine, recordsLines, toItem } from '#predictions/log.ts';
import { ModelStateStore } from '#predictions/model-state.ts';
import { type Config, loadConfig, setConfig } from '#runtime/config.ts';
import { captureLogLines } from '../../../helpers/log-lines.ts';

const context = { awsRequestId: 'ingest-1', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

const record = (requestId: string, index: number) =>
  toItem(
    {
      capability: 'detect',
      model: 'lid176',
      version: '1',
      requestId,
      index,
      timestamp: '2026-11-22T10:00:00.000Z',
      latencyMs: 1,
      output: { language: 'fr' },
      inputHash: 'h',
      inputLength: 7,
    },
    1,
  );

/** A subscription filter's event, as CloudWatch Logs sends it: gzip, then base64. */
const logsEvent = (messages: string[], messageType = 'DATA_MESSAGE'): CloudWatchLogsEvent => {
  const data: CloudWatchLogsDecodedData = {
    owner: '123456789012',
    logGroup: '/aws/lambda/detect',
    logStream: '2026/11/22/[$LATEST]abc',
    subscriptionFilters: ['records'],
    messageType,
    logEvents: messages.map((message, i) => ({ id: String(i), timestamp: Date.now(), message })),
  };
  return { awslogs: { data: gzipSync(JSON.stringify(data)).toString('base64') } };
};

let db: Awaited<ReturnType<typeof startDynalite>>;
let config: Config;
beforeAll(async () => {
  db = await startDynalite('memory');
  config = loadConfig({ DYNAMODB_ENDPOINT: db.endpoint, LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' });
  setConfig(config);
  await ensureLocalTables(makeDocumentClient(config), config);
});
afterAll(async () => db?.close());

const keysInTable = async (): Promise<string[]> => {
  const keys: string[] = [];
  for await (const page of paginateScan(
    { client: makeDocumentClient(config) },
    { TableName: config.PREDICTIONS_TABLE },
  )) {
    // Records only: the analytics counter items (`counters#…`) share the table.
    for (const item of page.Items ?? []) if (item.requestId !== undefined) keys.push(`${item.requestId}#${item.index}`);
  }
  return keys.sort();
};

describe('ingest function (CloudWatch Logs subscription → DynamoDB)', () => {
  it('writes every record of the records lines in a subscription event, and ignores other lines', async () => {
    const { handler } = await import('#functions/ingest/handler.ts');
    const lines = [
      '{"level":"INFO","message":"request served"}',
      ...recordsLines(Array.from({ length: 30 }, (_, i) => record('r1', i))),
      ...recordsLines([record('r2', 0)]),
    ];

    const out = await handler(logsEvent(lines), context);

    expect(out).toEqual({ records: 31, refused: 0, skipped: 1, counters: 2, countersRefused: 0, modelStates: 0 });
    expect(await keysInTable()).toHaveLength(31);
    expect(await keysInTable()).toContain('r1#29');
    const counter = await makeDocumentClient(config).send(
      new GetCommand({
        TableName: config.PREDICTIONS_TABLE,
        Key: { pk: 'counters#detect#lid176#2026-11-22', sk: 'all#2026-11-22T10' },
      }),
    );
    expect(counter.Item).toMatchObject({ 'all#total': 31, 'ok#total': 31, 'outcome#ok': 31, 'ok#version#1': 31 });
  });

  it("puts the model-state changes the functions print, and the status readers see the holder's newest", async () => {
    const { handler } = await import('#functions/ingest/handler.ts');
    const states = new ModelStateStore({
      client: makeDocumentClient(config),
      table: config.MODEL_STATE_TABLE,
      ttlSeconds: config.MODEL_STATE_TTL_SECONDS,
      instance: 'i-ingest',
    });
    const loading = states.item({ kind: 'loading', key: 'lid176@1', task: 'language-identification' });
    const loaded = states.item({ kind: 'loaded', key: 'lid176@1', task: 'language-identification', loadMs: 40 });

    // The loaded line's batch arrives first, the loading one's after it.
    const first = await handler(logsEvent([modelStatesLine([loaded])]), context);
    const late = await handler(logsEvent([modelStatesLine([loading])]), context);

    expect([first.modelStates, late.modelStates]).toEqual([1, 0]);
    expect(await states.read('lid176@1')).toMatchObject({ status: 'loaded', instances: 1, loadMs: 40 });
  });

  it('answers CloudWatch’s control message without writing', async () => {
    const { handler } = await import('#functions/ingest/handler.ts');

    expect(await handler(logsEvent(['CWL CONTROL MESSAGE'], 'CONTROL_MESSAGE'), context)).toEqual({
      records: 0,
      refused: 0,
      skipped: 0,
      counters: 0,
      countersRefused: 0,
      modelStates: 0,
    });
  });

  it('fails the batch with DynamoDB down (so Lambda retries it, then the DLQ), after printing fallback lines', async () => {
    const { handler } = await import('#functions/ingest/handler.ts');
    const fallbacks = captureLogLines('predictionLogFallback');
    await db.stop();
    try {
      await expect(handler(logsEvent(recordsLines([record('r3', 0)])), context)).rejects.toThrow(
        /1 of 1 records refused/,
      );
    } finally {
      fallbacks.restore();
      await db.start();
    }
    expect(fallbacks.lines.map((l) => (l.predictionLogFallback as { requestId: string }).requestId)).toEqual(['r3']);
  });
});
