import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { makeDocumentClient } from '#predictions/client.ts';
import type { Config } from '#runtime/config.ts';
import { lambdaContext } from './events.ts';

/** How often the emulator looks for queued import jobs (DynamoDB Streams' own delay is ~1 s). */
const POLL_MS = 250;
/** The import function's timeout in AWS (infra): a local import gets as long. */
const IMPORT_TIMEOUT_MS = 15 * 60_000;

/** A stream record as DynamoDB sends it for a (re)queued job: only what the import function reads. */
const streamEventOf = (ids: string[]): DynamoDBStreamEvent => ({
  Records: ids.map((id) => ({
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: { id: { S: id } },
      NewImage: { id: { S: id }, status: { S: 'queued' } },
      StreamViewType: 'NEW_IMAGE',
    },
  })),
});

/**
 * The import jobs table's stream, locally: dynalite has no streams, so the emulator scans
 * the table for queued jobs every 250 ms and invokes the import function's handler
 * (functions/import/handler.ts) with a stream-shaped event, one batch at a time, as the
 * event source mapping would. The import function has egress: locally it reaches
 * HF_ENDPOINT (the Hub stand-in in tests) and publishes into the stack's registry.
 */
export const startImportPoller = (c: Config, onError: (error: unknown) => void): { close: () => Promise<void> } => {
  const client = makeDocumentClient(c);
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const out = await client.send(
      new ScanCommand({
        TableName: c.IMPORTS_TABLE,
        FilterExpression: '#s = :queued',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':queued': 'queued' },
        ProjectionExpression: 'id',
      }),
    );
    const ids = (out.Items ?? []).map((i) => String(i.id));
    if (ids.length === 0 || closed) return;
    // Imported on first use: the handler reads the configuration the stack has set by then.
    const { handler } = await import('#functions/import/handler.ts');
    await handler(streamEventOf(ids), lambdaContext('local-import', IMPORT_TIMEOUT_MS));
  };
  // The next look is scheduled when this one ends: one batch at a time, as the event source mapping.
  const schedule = () => {
    timer = setTimeout(() => {
      running = tick()
        .catch(onError)
        .finally(() => {
          if (!closed) schedule();
        });
    }, POLL_MS);
  };
  schedule();
  return {
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
};
