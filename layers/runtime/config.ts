import path from 'node:path';
import { z } from 'zod';

/**
 * Configuration, read once from the environment and validated at init: a wrong value
 * fails the cold start with a message naming the variable, instead of a confusing
 * error on the first request. Nothing else in the code base reads `process.env`.
 */
const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1')
  .optional();
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ConfigSchema = z.object({
  STAGE: z.string().default('local'),
  SERVICE_NAME: z.string().default('hf-serve'),
  METRICS_NAMESPACE: z.string().default('HfServe'),
  LOG_LEVEL: z
    .enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'debug', 'info', 'warn', 'error', 'silent'])
    .default('INFO'),
  /** Registry root in S3 (production). When unset, MODELS_DIR is the registry. */
  MODEL_BUCKET: z.string().optional(),
  MODEL_PREFIX: z.string().default('models'),
  /** Custom S3 endpoint (s3rver locally). */
  S3_ENDPOINT: z.url().optional(),
  /** Registry root on disk when there is no bucket (local development, tests). */
  MODELS_DIR: z.string().default('test/fixtures/models'),
  /** Where bundles are cached: the EFS mount in production. */
  MODEL_CACHE_DIR: z.string().default('.data/models'),
  MODEL_CACHE_MAX_ENTRIES: int(1, 64).default(4),
  /** ONNX Runtime intra-op threads per session; 0 means one per available core (layers/runtime/session-options.ts). */
  ONNX_THREADS: int(0, 64).default(0),
  /**
   * Pre-optimised ONNX graphs per model version and hardware, under MODEL_CACHE_DIR/.optimized
   * (layers/runtime/optimized-graphs.ts): used when present, built by `warm` and after a cold load.
   */
  ONNX_OPTIMIZED_CACHE: bool.default(true),
  DEFAULT_PREDICT_MODEL: z.string().default('tiny-distilbert-sentiment'),
  DEFAULT_DETECT_MODEL: z.string().default('lid176'),
  DEFAULT_TRANSLATE_MODEL: z.string().default('tiny-nllb'),
  PREDICTIONS_TABLE: z.string().default('predictions'),
  DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().default('us-east-1'),
  PREDICTION_TTL_DAYS: int(1, 3650).default(90),
  /** Shared result cache (DynamoDB, TTL) behind the in-container LRU; see docs/prediction-log.md. */
  RESULT_CACHE_TABLE: z.string().default('prediction-cache'),
  RESULT_CACHE_TTL_SECONDS: int(1, 31_536_000).default(86_400),
  /** Results kept in each container's memory; 0 turns the in-container tier off. */
  RESULT_CACHE_MAX_ENTRIES: int(0, 1_000_000).default(10_000),
  /** false turns both cache tiers off (every request runs inference). */
  RESULT_CACHE_ENABLED: bool.default(true),
  /**
   * When the shared (DynamoDB) tier is read: `auto` only while a lookup is expected to save
   * more time than its round trip (measured hit rate × inference time), `always`, `never`.
   */
  RESULT_CACHE_SHARED: z.enum(['auto', 'always', 'never']).default('auto'),
  /** Raw inputs are stored only when a stage opts in; otherwise hash and length only. */
  STORE_RAW_INPUTS: bool.default(false),
  MAX_TEXT_CHARS: int(1, 1_000_000).default(5000),
  MAX_BATCH_SIZE: int(1, 10_000).default(64),
  MAX_BODY_BYTES: int(1024, 10_485_760).default(1_048_576),
  CORS_ORIGINS: z.string().default('*'),
  /** Completions: the default model, and caps on what one request may ask for. */
  DEFAULT_COMPLETIONS_MODEL: z.string().default('tiny-gpt2'),
  MAX_TOKENS_CAP: int(1, 32_768).default(512),
  MAX_CHOICES: int(1, 16).default(4),
  MAX_PROMPTS: int(1, 64).default(8),
  /** Milliseconds kept back from the Lambda deadline to answer with a 504 in time. */
  DEADLINE_MARGIN_MS: int(0, 60_000).default(1500),
});

export type Config = z.infer<typeof ConfigSchema> & { projectRoot: string };

/** The project root: the folder above `layers/`, so relative defaults work from any cwd. */
const projectRoot = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../..');

/**
 * Parses an environment (default: `process.env`). Relative paths are taken from the
 * project root locally; in Lambda they are absolute (`/mnt/models`).
 *
 * @example
 * loadConfig({ MAX_TEXT_CHARS: '100' }).MAX_TEXT_CHARS; // => 100
 */
export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration in environment variables: ${problems}`);
  }
  const c = parsed.data;
  const root = env.LAMBDA_TASK_ROOT ? process.cwd() : projectRoot;
  return {
    ...c,
    MODELS_DIR: path.resolve(root, c.MODELS_DIR),
    MODEL_CACHE_DIR: path.resolve(root, c.MODEL_CACHE_DIR),
    projectRoot: root,
  };
};

/**
 * A comma-separated setting as a list, blanks dropped.
 *
 * @example
 * listOf('https://a.example, https://b.example,'); // => ['https://a.example', 'https://b.example']
 */
export const listOf = (csv: string): string[] =>
  csv
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

let current: Config | undefined;
/** The process-wide configuration, parsed on first use. */
export const config = (): Config => {
  current ??= loadConfig();
  return current;
};
/** Tests and the local emulator replace the configuration explicitly. */
export const setConfig = (next: Config): void => {
  current = next;
};
