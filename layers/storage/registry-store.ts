import type { Config } from '#runtime/config.ts';
import { FsObjectStore, type ObjectStore } from '#runtime/object-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';

/**
 * The registry's object store the configuration names: S3 when a bucket is set, else
 * MODELS_DIR. The import function publishes through it (the models CLI's commands need the
 * S3 store itself); the inference functions load it on first use (`model-runtime.ts`).
 */
export const registryStore = (c: Config): ObjectStore =>
  c.MODEL_BUCKET
    ? new S3ObjectStore({
        bucket: c.MODEL_BUCKET,
        prefix: c.MODEL_PREFIX,
        region: c.AWS_REGION,
        endpoint: c.S3_ENDPOINT,
      })
    : new FsObjectStore(c.MODELS_DIR);
