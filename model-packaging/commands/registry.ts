import { createReadStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { HeadBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError, oneOf } from '#runtime/errors.ts';
import { MANIFEST_FILE, type Manifest, readManifest } from '#runtime/manifest.ts';
import { FsObjectStore, type ObjectStore } from '#runtime/object-store.ts';
import { buildOptimizedGraphs } from '#runtime/optimized-graphs.ts';
import { ALIASES_FILE, AliasesSchema, parseModelRef, Registry } from '#runtime/registry.ts';
import { ModelStore } from '#runtime/store.ts';
import { S3ObjectStore } from '#storage/s3-object-store.ts';
import { CommandError, type Deps, type Options, parse, positional, required, UsageError } from '../common.ts';
import { publishToFolder } from '../folder-publish.ts';
import { createProgress } from '../progress.ts';
import { verifyFiles } from './validate.ts';

export const S3_OPTIONS = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
} as const satisfies Options;

/** The S3 options' help; `bucket` says when --bucket is required. */
const s3Help = (bucket: string) => `  --bucket <b>        S3 bucket of the registry (${bucket})
  --prefix <p>        key prefix of the registry; default "models"
  --endpoint <url>    S3-compatible endpoint (s3rver: http://127.0.0.1:4569); default AWS
  --region <r>        AWS region; default us-east-1
  --debug             print the cause chain of an error`;
const S3_HELP = s3Help('required');
export const S3_OR_DIR_HELP = `  --dir <folder>      a local registry folder (<name>/<version>/) instead of S3
${s3Help('required unless --dir is given')}`;

export const PUBLISH_HELP = `Usage: models publish <bundle-dir> --bucket <b> [options]

Uploads a validated bundle to s3://<bucket>/<prefix>/<name>/<version>/ (multipart for
large files), manifest.json last so a half-published version is never visible. Refuses
to overwrite an existing version.

Options:
${S3_HELP}`;

export const ALIAS_HELP = `Usage: models alias set <alias> <name>@<version> (--bucket <b> | --dir <folder>) [--canary <version> --weight <w>] [options]

Points <alias> (e.g. prod) of model <name> at <version>; with --canary, the share
--weight (0..1) of the alias's traffic goes to the canary version.

Options:
  --canary <version>  canary version (must exist)
  --weight <w>        canary share, 0..1 (required with --canary)
${S3_OR_DIR_HELP}`;

export const LIST_HELP = `Usage: models list (--bucket <b> | --dir <folder>) [options]

Lists the registry's models: name, task, versions, aliases.

Options:
${S3_OR_DIR_HELP}`;

export const WARM_HELP = `Usage: models warm <name>@<version|alias> --cache <dir> (--bucket <b> | --dir <folder>) [options]

Fills a cache folder from the registry with the model store the functions use
(sha256 verified, atomic, resumable), builds the bundle's pre-optimised ONNX graphs for
this machine (<cache>/.optimized/<name>/<version>/<key>/: only instances with the same
ONNX Runtime, architecture and CPU use them), then prints the bundle folder.

Options:
  --cache <dir>       cache folder (the EFS mount in production) (required)
  --skip-optimize     do not build the pre-optimised graphs
${S3_OR_DIR_HELP}`;

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN']);

/** Turns AWS SDK and network failures into one line that says what to check. */
const explain = (error: unknown, where: string): never => {
  if (error instanceof AppError) throw error;
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (e.name === 'NoSuchBucket' || (e.name === 'NotFound' && e.$metadata?.httpStatusCode === 404)) {
    throw new CommandError(`${where}: the bucket does not exist; create it or check --bucket and --endpoint.`, {
      cause: error,
    });
  }
  if (code && NETWORK_CODES.has(code)) {
    throw new CommandError(`${where}: cannot reach the S3 endpoint (${code}); is it running? check --endpoint.`, {
      cause: error,
    });
  }
  if (e.name === 'CredentialsProviderError') {
    throw new CommandError(
      `${where}: no AWS credentials found; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.`,
      { cause: error },
    );
  }
  throw new CommandError(`${where}: ${e.name ?? 'Error'}: ${(e.message ?? String(error)).split('\n')[0]}`, {
    cause: error,
  });
};

const s3Store = (
  command: string,
  values: { bucket?: string; prefix?: string; endpoint?: string; region?: string },
): S3ObjectStore => {
  const bucket = required(command, 'bucket', values.bucket);
  if (values.endpoint !== undefined) {
    try {
      new URL(values.endpoint);
    } catch {
      throw new UsageError(
        `${command}: invalid --endpoint ${JSON.stringify(values.endpoint)}: use a URL such as http://127.0.0.1:4569.`,
      );
    }
  }
  return new S3ObjectStore({
    bucket,
    prefix: values.prefix ?? 'models',
    endpoint: values.endpoint,
    region: values.region,
  });
};

/** The registry's store: S3 with --bucket, a folder with --dir. */
export const storeFor = (
  command: string,
  values: { bucket?: string; dir?: string; prefix?: string; endpoint?: string; region?: string },
): ObjectStore => {
  if (values.dir !== undefined && values.bucket !== undefined)
    throw new UsageError(`${command}: use either --bucket or --dir, not both.`);
  if (values.dir !== undefined) return new FsObjectStore(path.resolve(values.dir));
  if (values.bucket === undefined)
    throw new UsageError(
      `${command}: missing --bucket (or --dir for a local registry). Run "models ${command} --help" for usage.`,
    );
  return s3Store(command, values);
};

/** Writes `<name>/aliases.json`: to S3, or into the --dir folder atomically (a reader never sees half a file). */
const writeAliases = async (store: ObjectStore, dir: string | undefined, name: string, body: string): Promise<void> => {
  if (store instanceof S3ObjectStore) {
    await store.client.send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.key(`${name}/${ALIASES_FILE}`),
        Body: body,
        ContentType: 'application/json',
      }),
    );
    return;
  }
  const file = path.resolve(dir ?? '.', name, ALIASES_FILE);
  await writeFile(`${file}.tmp`, body);
  await rename(`${file}.tmp`, file);
};

/** Fails early with a clear line when the bucket is missing or the endpoint unreachable. */
export const checkBucket = async (store: S3ObjectStore, where: string): Promise<void> => {
  await store.client
    .send(new HeadBucketCommand({ Bucket: store.bucket }))
    .catch((error) => explain(error, `${where} ${store.description}`));
};

/**
 * `models publish`: a local bundle to the S3 registry, manifest last, never overwriting.
 *
 * @example
 * await runPublish(['models/sentiment/1', '--bucket', 'models'], deps); // => 0
 */
export const runPublish = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('publish', argv, S3_OPTIONS);
  if (values.help) {
    deps.io.out(PUBLISH_HELP);
    return 0;
  }
  const dir = path.resolve(positional('publish', 'bundle-dir', positionals));
  const where = await publishBundle(dir, s3Store('publish', values), deps.io);
  deps.io.out(where);
  return 0;
};

/**
 * A local bundle into the registry, never overwriting a version, invisible until whole: to
 * S3 with the manifest last (conditional), or into a registry folder by one rename
 * (`folder-publish.ts`). Files are checked against the manifest first; `headBucket: false`
 * skips the bucket check (HeadBucket). Returns the line
 * `models publish` prints.
 *
 * @example
 * await publishBundle('models/sentiment/1', store, io); // => 'published sentiment@1 (5 files) to s3://…'
 */
export const publishBundle = async (
  dir: string,
  store: ObjectStore,
  io: Deps['io'],
  { headBucket = true }: { headBucket?: boolean } = {},
): Promise<string> => {
  let manifest: Manifest;
  try {
    manifest = await readManifest(dir);
  } catch (cause) {
    throw new CommandError(
      `publish: ${dir} is not a bundle (${(cause as Error).message.split('\n')[0]}); run "models validate" on it.`,
      { cause },
    );
  }
  await verifyFiles(dir, manifest);
  if (store instanceof FsObjectStore) return publishToFolder(dir, manifest, store.root);
  if (!(store instanceof S3ObjectStore)) throw new CommandError(`publish: cannot publish to ${store.description}.`);
  // The import function skips it: its bucket exists by construction, and HeadBucket needs a ListBucket with no prefix.
  if (headBucket) await checkBucket(store, 'publish');
  const registry = new Registry(store);
  const where = `${store.description}/${manifest.name}/${manifest.version}`;
  const existing = await registry
    .manifest(manifest.name, manifest.version)
    .catch((error) => explain(error, `publish ${where}`));
  if (existing) {
    throw new CommandError(
      `publish: ${manifest.name}@${manifest.version} already exists at ${where}; versions are immutable, publish a new --version.`,
    );
  }
  const progress = createProgress(io);
  try {
    for (const file of manifest.files) {
      const upload = new Upload({
        client: store.client,
        params: {
          Bucket: store.bucket,
          Key: store.key(`${manifest.name}/${manifest.version}/${file.path}`),
          Body: createReadStream(path.join(dir, file.path)),
          ContentLength: file.bytes,
        },
        // 16 MiB parts: a 600 MB model is ~40 parts, well under S3's 10,000 limit.
        partSize: 16 * 1024 * 1024,
        queueSize: 2,
      });
      upload.on('httpUploadProgress', (p) => progress.update(file.path, p.loaded ?? 0, p.total ?? file.bytes));
      await upload.done().catch((error) => explain(error, `publish ${where}/${file.path}`));
      progress.update(file.path, file.bytes, file.bytes);
    }
  } finally {
    progress.stop();
  }
  // Last, and conditional: S3 refuses the put with 412 if another publisher won the race.
  // (s3rver ignores If-None-Match; the existence check above covers it there.)
  await store.client
    .send(
      new PutObjectCommand({
        Bucket: store.bucket,
        Key: store.key(`${manifest.name}/${manifest.version}/${MANIFEST_FILE}`),
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    )
    .catch((error) => {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
        throw new CommandError(
          `publish: ${manifest.name}@${manifest.version} was published by someone else meanwhile at ${where}.`,
        );
      }
      return explain(error, `publish ${where}/${MANIFEST_FILE}`);
    });
  return `published ${manifest.name}@${manifest.version} (${manifest.files.length} files) to ${where}`;
};

/**
 * `models alias set`: points an alias (optionally with a canary split) at existing versions.
 *
 * @example
 * await runAlias(['set', 'prod', 'sentiment@1', '--bucket', 'models'], deps); // => 0
 */
export const runAlias = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('alias', argv, {
    ...S3_OPTIONS,
    dir: { type: 'string' },
    canary: { type: 'string' },
    weight: { type: 'string' },
  });
  if (values.help) {
    deps.io.out(ALIAS_HELP);
    return 0;
  }
  const sub = positional('alias', 'subcommand (set)', positionals);
  if (sub !== 'set')
    throw new UsageError(`alias: unknown subcommand ${JSON.stringify(sub)}. Must be one of ${oneOf(['set'])}.`);
  const alias = positional('alias set', 'alias', positionals, 1);
  const ref = positional('alias set', 'name@version', positionals, 2);
  const { name, selector: version } = parseModelRef(ref);
  if (version === undefined)
    throw new UsageError(`alias set: ${JSON.stringify(ref)} names no version; use <name>@<version>.`);
  let canary: { version: string; weight: number } | undefined;
  if (values.canary !== undefined || values.weight !== undefined) {
    const canaryVersion = required('alias set', 'canary', values.canary);
    const weight = Number(required('alias set', 'weight', values.weight));
    if (!Number.isFinite(weight) || weight < 0 || weight > 1) {
      throw new UsageError(
        `alias set: --weight must be a number from 0 to 1 (the canary's share), got ${JSON.stringify(values.weight)}.`,
      );
    }
    canary = { version: canaryVersion, weight };
  }
  const entry = AliasesSchema.safeParse({ [alias]: { version, ...(canary ? { canary } : {}) } });
  if (!entry.success)
    throw new UsageError(
      `alias set: invalid alias ${JSON.stringify(alias)}: use lowercase letters, digits and "-" (e.g. prod, canary).`,
    );
  const store = storeFor('alias set', values);
  if (store instanceof S3ObjectStore) await checkBucket(store, 'alias set');
  const registry = new Registry(store, { ttlMs: 0 });
  try {
    const versions = await registry.versions(name);
    for (const v of [version, ...(canary ? [canary.version] : [])]) {
      if (!versions.includes(v) || !(await registry.manifest(name, v))) {
        throw new CommandError(
          `alias set: ${name}@${v} is not published in ${store.description}. Versions: ${oneOf(versions)}.`,
        );
      }
    }
    const aliases = { ...(await registry.aliases(name)), ...entry.data };
    await writeAliases(store, values.dir, name, `${JSON.stringify(aliases, null, 2)}\n`);
  } catch (error) {
    return explain(error, `alias set ${store.description}`);
  }
  deps.io.out(`${name}@${alias} -> ${version}${canary ? ` (canary ${canary.version} at ${canary.weight})` : ''}`);
  return 0;
};

/**
 * `models list`: a table of the registry's models.
 *
 * @example
 * await runList(['--dir', 'test/fixtures/models'], deps); // prints "NAME  TASK  VERSIONS  ALIASES" rows
 */
export const runList = async (argv: string[], deps: Deps): Promise<number> => {
  const { values } = parse('list', argv, { ...S3_OPTIONS, dir: { type: 'string' } });
  if (values.help) {
    deps.io.out(LIST_HELP);
    return 0;
  }
  const store = storeFor('list', values);
  if (store instanceof S3ObjectStore) await checkBucket(store, 'list');
  const models = await new Registry(store).list().catch((error) => explain(error, `list ${store.description}`));
  const rows = [
    ['NAME', 'TASK', 'VERSIONS', 'ALIASES'],
    ...models.map((m) => [
      m.name,
      m.task,
      m.versions.join(','),
      Object.entries(m.aliases)
        .map(([a, v]) => `${a}=${v.version}${v.canary ? `+${v.canary.version}@${v.canary.weight}` : ''}`)
        .join(',') || '-',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const row of rows)
    deps.io.out(
      row
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
};

/**
 * `models warm`: fetches a model into a cache folder through `ModelStore.ensure`, then
 * builds its pre-optimised graphs for this machine (unless `--skip-optimize`).
 *
 * @example
 * await runWarm(['sentiment@prod', '--cache', '/mnt/models', '--bucket', 'models'], deps); // prints the bundle folder
 */
export const runWarm = async (argv: string[], deps: Deps): Promise<number> => {
  const { values, positionals } = parse('warm', argv, {
    ...S3_OPTIONS,
    dir: { type: 'string' },
    cache: { type: 'string' },
    'skip-optimize': { type: 'boolean' },
  });
  if (values.help) {
    deps.io.out(WARM_HELP);
    return 0;
  }
  const ref = positional('warm', 'name@version|alias', positionals);
  const cacheDir = path.resolve(required('warm', 'cache', values.cache));
  const store = storeFor('warm', values);
  if (store instanceof S3ObjectStore) await checkBucket(store, 'warm');
  const registry = new Registry(store);
  const progress = createProgress(deps.io);
  const modelStore = new ModelStore({
    registry,
    cacheDir,
    onProgress: (file, done, total) => progress.update(file, done, total),
  });
  try {
    const { name, version, alias } = await registry.resolve(ref, () => 1);
    const started = performance.now();
    const bundle = await modelStore.ensure(name, version);
    progress.stop();
    deps.io.err(
      `warm: ${name}@${version}${alias ? ` (alias ${alias})` : ''}: ${modelStore.fetchedFiles} files fetched in ${(performance.now() - started).toFixed(0)} ms`,
    );
    if (!values['skip-optimize']) {
      const outcome = await buildOptimizedGraphs(bundle, {
        cacheDir,
        onWarning: (message, details) => deps.io.err(`warm: ${message}: ${JSON.stringify(details)}`),
      });
      const where = 'copy' in outcome ? outcome.copy.dir : outcome.reason;
      deps.io.err(`warm: optimized graphs ${outcome.status} in ${outcome.ms} ms: ${where}`);
    }
    deps.io.out(bundle.dir);
  } catch (error) {
    return explain(error, `warm ${store.description}`);
  } finally {
    progress.stop();
  }
  return 0;
};
