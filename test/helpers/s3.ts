import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { makeS3Client } from '#storage/s3-object-store.ts';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  httpServer: Server;
}
// s3rver ships no types; it is only used here, through its documented constructor.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: Record<string, unknown>) => S3rverInstance;

/** The registry's bucket and prefix in the tests, as the functions' configuration names them. */
export const BUCKET = 'models';
export const PREFIX = 'models';

export interface TestS3 {
  url: string;
  /** Every request s3rver received (`GET /models/models/name/1/onnx/model.onnx`), in order. */
  requests: Array<{ method: string; path: string }>;
  /** Cuts open connections and refuses new ones, as an unreachable S3 endpoint does. */
  stop: () => Promise<void>;
  /** Serves again on the same port, with the same objects. */
  start: () => Promise<void>;
  close: () => Promise<void>;
  /** The functions' environment for a registry in this bucket. */
  env: Record<string, string>;
}

/**
 * s3rver on loopback (a random port) keeping its objects in `directory`, with the
 * registry's bucket; it can be stopped and started again to make S3 unreachable.
 *
 * @example
 * const s3 = await startTestS3(await tempDir('s3'));
 * await putTree(s3, 'test/fixtures/models/tiny-gpt2', 'tiny-gpt2');
 * const api = await startTestApi(s3.env);
 */
export const startTestS3 = async (directory: string): Promise<TestS3> => {
  const requests: TestS3['requests'] = [];
  let port = 0;
  let running: S3rverInstance | undefined;
  const start = async () => {
    if (running) return;
    const s3 = new S3rver({
      port,
      address: '127.0.0.1',
      silent: true,
      directory,
      configureBuckets: [{ name: BUCKET }],
    });
    port = (await s3.run()).port;
    s3.httpServer.on('request', (req: { method?: string; url?: string }) =>
      requests.push({
        method: req.method ?? '',
        path: decodeURIComponent(new URL(req.url ?? '/', 'http://s3').pathname),
      }),
    );
    running = s3;
  };
  const stop = async () => {
    if (!running) return;
    const s3 = running;
    running = undefined;
    const closed = s3.close();
    s3.httpServer.closeAllConnections();
    await closed;
  };
  await start();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    stop,
    start,
    close: stop,
    env: { MODEL_BUCKET: BUCKET, MODEL_PREFIX: PREFIX, S3_ENDPOINT: url },
  };
};

const filesUnder = async (dir: string, prefix = ''): Promise<string[]> => {
  const out: string[] = [];
  for (const entry of await readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else out.push(rel);
  }
  return out;
};

/**
 * Uploads the files under `dir` to `<PREFIX>/<key>/…` (a model's folder: its versions and
 * aliases); `only` picks some of them by their path under `dir`.
 */
export const putTree = async (
  s3: TestS3,
  dir: string,
  key: string,
  only: (rel: string) => boolean = () => true,
): Promise<void> => {
  const client = makeS3Client({ region: 'us-east-1', endpoint: s3.url });
  for (const rel of (await filesUnder(dir)).filter(only)) {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `${PREFIX}/${key}/${rel}`,
        Body: await readFile(path.join(dir, rel)),
      }),
    );
  }
  client.destroy();
};

/** Writes one text object of the registry (`aliases.json` after an alias switch). */
export const putText = async (s3: TestS3, key: string, text: string): Promise<void> => {
  const client = makeS3Client({ region: 'us-east-1', endpoint: s3.url });
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/${key}`, Body: text }));
  client.destroy();
};
