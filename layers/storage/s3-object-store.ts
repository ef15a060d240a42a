import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { type ObjectStore, type ProgressFn, s3Description } from '#runtime/object-store.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix of the registry, without a trailing slash (`models`). */
  prefix?: string;
  client?: S3Client;
}

/** Builds an S3 client; `endpoint` points it at s3rver (path-style) locally. */
export const makeS3Client = (options: { region: string; endpoint?: string }): S3Client =>
  new S3Client({
    region: options.region,
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          forcePathStyle: true,
          // s3rver accepts any credentials; real AWS takes them from the Lambda role.
          credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        }
      : {}),
  });

const isMissing = (error: unknown): boolean =>
  error instanceof NoSuchKey ||
  (error as { name?: string }).name === 'NoSuchKey' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/**
 * The registry's object store on S3. Downloads resume with a `Range` request from the
 * bytes already on disk, so a Lambda timeout mid-download does not start over.
 */
export class S3ObjectStore implements ObjectStore {
  readonly description: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;

  constructor(options: S3ObjectStoreOptions & { region?: string; endpoint?: string }) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.client = options.client ?? makeS3Client({ region: options.region ?? 'us-east-1', endpoint: options.endpoint });
    this.description = s3Description(this.bucket, this.prefix);
  }

  key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return await out.Body?.transformToString('utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async download(key: string, dest: string, options: { bytes?: number; onProgress?: ProgressFn } = {}): Promise<void> {
    const have = await stat(dest).then(
      (s) => s.size,
      () => 0,
    );
    if (options.bytes !== undefined && have >= options.bytes) return;
    await mkdir(path.dirname(dest), { recursive: true });
    const out = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), Range: have > 0 ? `bytes=${have}-` : undefined }),
    );
    // A server that ignores Range answers 200 with the whole object: start over then.
    const resumed = have > 0 && out.ContentRange !== undefined;
    const total = options.bytes ?? (resumed ? have : 0) + (out.ContentLength ?? 0);
    let done = resumed ? have : 0;
    const progress = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        done += chunk.length;
        options.onProgress?.(done, total);
        callback(null, chunk);
      },
    });
    await pipeline(out.Body as Readable, progress, createWriteStream(dest, { flags: resumed ? 'a' : 'w' }));
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const full = this.key(prefix);
    const base = full && !full.endsWith('/') ? `${full}/` : full;
    const names: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token }),
      );
      for (const p of out.CommonPrefixes ?? []) {
        const name = p.Prefix?.slice(base.length).replace(/\/$/, '');
        if (name) names.push(name);
      }
      token = out.NextContinuationToken;
    } while (token);
    return names.sort();
  }
}
