import path from 'node:path';
import * as z from 'zod';
import { ConfigurationError } from './errors.ts';
import { maxRequestBodyBytes } from './limits.ts';

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

/** Powertools Logger's levels. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
/** Other spellings people write (Python's logging and Powertools for Python, Lambda's own FATAL). */
const LOG_LEVEL_ALIASES: Record<string, (typeof LOG_LEVELS)[number]> = {
  WARNING: 'WARN',
  FATAL: 'CRITICAL',
  OFF: 'SILENT',
  NONE: 'SILENT',
};
/**
 * LOG_LEVEL, case-insensitive, as one of Powertools' levels.
 *
 * @example
 * loadConfig({ LOG_LEVEL: 'warning' }).LOG_LEVEL; // => 'WARN'
 */
const logLevel = z
  .string()
  .transform((v) => {
    const upper = v.trim().toUpperCase();
    return LOG_LEVEL_ALIASES[upper] ?? upper;
  })
  .pipe(
    z.enum(LOG_LEVELS, {
      error: `must be one of ${[...LOG_LEVELS, ...Object.keys(LOG_LEVEL_ALIASES)].join(', ')} (any case)`,
    }),
  );

/** One plan's own allowances per UTC day (0 = not metered), as CHARACTERS_PER_DAY and TOKENS_PER_DAY. */
const PlanAllowances = z.strictObject({
  charactersPerDay: z.number().int().min(0).max(1e12).optional(),
  tokensPerDay: z.number().int().min(0).max(1e12).optional(),
});
/** At most this many plans (API Gateway's default quota is 300 usage plans per account and region). */
export const MAX_FAIR_USE_PLANS = 300;
/**
 * FAIR_USE_PLANS: a JSON object, plan name (1-128 characters, as API Gateway allows) →
 * `{charactersPerDay?, tokensPerDay?}`, at most MAX_FAIR_USE_PLANS of them.
 *
 * @example
 * loadConfig({ FAIR_USE_PLANS: '{"pro":{"tokensPerDay":9000}}' }).FAIR_USE_PLANS; // => { pro: { tokensPerDay: 9000 } }
 */
const fairUsePlans = z
  .string()
  .max(65_536)
  .transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'must be JSON: {"<plan name>":{"charactersPerDay":<n>,"tokensPerDay":<n>}}',
      });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .record(z.string().min(1).max(128), PlanAllowances)
      .refine((plans) => Object.keys(plans).length <= MAX_FAIR_USE_PLANS, {
        message: `at most ${MAX_FAIR_USE_PLANS} plans`,
      }),
  );

export const ConfigSchema = z.object({
  STAGE: z.string().default('local'),
  SERVICE_NAME: z.string().default('hf-serve'),
  METRICS_NAMESPACE: z.string().default('HfServe'),
  /** Powertools' levels in any case, and the other usual spellings (WARNING, FATAL, …): see logLevel. */
  LOG_LEVEL: logLevel.default('INFO'),
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
   * ONNX Runtime's intra-op threads busy-wait between operators (its default): right for a
   * Lambda instance's own vCPUs, wasteful where processes or requests share cores (the
   * emulator sets it false; layers/runtime/session-options.ts).
   */
  ONNX_SPINNING: bool.default(true),
  /** Set by Lambda: `provisioned-concurrency` environments load the default model during init (functions/bind.ts). */
  AWS_LAMBDA_INITIALIZATION_TYPE: z.enum(['on-demand', 'provisioned-concurrency', 'snap-start']).optional(),
  /** Set by Lambda: the function's memory, from which its vCPUs follow (session-options.ts). */
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: int(128, 10_240).optional(),
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
  /**
   * The mirror of API Gateway's keys and plans the body-keyed routes check keys against
   * (layers/http/key-mirror.ts), by key hash: written by the key-sync function in AWS, by the
   * emulator from its keys at start.
   */
  API_KEYS_TABLE: z.string().default('api-keys'),
  /**
   * The REST API the key-sync function mirrors keys for: of a key's usage plans, the one
   * attached to this API counts (a key may be in one plan per API stage). Unset: first by name.
   */
  REST_API_ID: z.string().min(1).max(64).optional(),
  /** Per-key usage counters (layers/predictions/usage.ts). */
  USAGE_TABLE: z.string().default('usage'),
  /** Characters of input one key may send to translate and detect per UTC day; 0 = not metered. */
  CHARACTERS_PER_DAY: int(0, 1e12).default(0),
  /** Completion tokens one key may reserve (max_tokens × n) per UTC day; 0 = not metered. */
  TOKENS_PER_DAY: int(0, 1e12).default(0),
  /**
   * Allowances of the stage's usage plans that differ from the two above, as JSON by the plan's
   * name as API Gateway knows it (what the authorizer and the key mirror report):
   * `{"hf-serve-dev-pro":{"charactersPerDay":5000000,"tokensPerDay":1000000}}`. A unit a plan
   * does not name, and a key whose plan is unknown, get the stage's number.
   */
  FAIR_USE_PLANS: fairUsePlans.default({}),
  /** Heavy requests (translation, generation) one key may have in flight on one instance. */
  HEAVY_IN_FLIGHT_PER_KEY: int(1, 1000).default(1),
  RESULT_CACHE_TTL_SECONDS: int(1, 31_536_000).default(86_400),
  /** Models' shared loaded-state (`/models/{model}/status`, `/v1/status`); see README, "How models are loaded". */
  MODEL_STATE_TABLE: z.string().default('model-state'),
  /** How long a model's shared loaded-state outlives its last change. */
  MODEL_STATE_TTL_SECONDS: int(60, 86_400).default(3_600),
  /**
   * Hugging Face models imported on demand (docs/hub-import.md): comma-separated patterns of
   * Hub ids a request may name (`Xenova/*`, `onnx-community/tiny-*`); empty turns imports off.
   */
  HUB_IMPORT_ALLOW: z.string().default(''),
  /** The import jobs, one per `org/name@revision` (layers/predictions/import-jobs.ts). */
  IMPORTS_TABLE: z.string().default('model-imports'),
  /** A failed import is tried again by a request made this long after it failed. */
  HUB_IMPORT_RETRY_SECONDS: int(0, 604_800).default(600),
  /** What a 202 asks the client to wait before it looks again (`Retry-After`). */
  HUB_IMPORT_RETRY_AFTER_SECONDS: int(1, 600).default(5),
  /** The Hub the import function pulls from (the local stand-in in tests). */
  HF_ENDPOINT: z.url().default('https://huggingface.co'),
  /** A Hub token for gated or private repositories: the import function's only. Holds a secret: never logged. */
  HF_TOKEN: z.string().optional(),
  /** Results kept in each container's memory; 0 turns the in-container tier off. */
  RESULT_CACHE_MAX_ENTRIES: int(0, 1_000_000).default(10_000),
  /** false turns both cache tiers off (every request runs inference). */
  RESULT_CACHE_ENABLED: bool.default(true),
  /**
   * When the shared (DynamoDB) tier is read: `auto` only while a lookup is expected to save
   * more time than its round trip (measured hit rate × inference time), `always`, `never`.
   */
  RESULT_CACHE_SHARED: z.enum(['auto', 'always', 'never']).default('auto'),
  /**
   * `auto` on an instance that has not loaded the model yet and has measured nothing: the
   * shared tier is asked only for a model whose files reach this many bytes. A hit saves the
   * model's load, and the instance's first lookup costs the AWS SDK's import and the
   * DynamoDB client's set-up besides the round trip (40-70 ms on detect's cold start); a
   * smaller model loads in about that (lid.176's 3.8 MB in 35-55 ms), so a cold lookup
   * would cost what it saves.
   */
  RESULT_CACHE_COLD_LOOKUP_MIN_BYTES: int(0, 2 ** 50).default(8 * 1024 * 1024),
  /** Raw inputs are stored only when a stage opts in; otherwise hash and length only. */
  STORE_RAW_INPUTS: bool.default(false),
  MAX_TEXT_CHARS: int(1, 1_000_000).default(5000),
  MAX_BATCH_SIZE: int(1, 10_000).default(64),
  /** Default: the largest valid body under MAX_TEXT_CHARS and MAX_BATCH_SIZE (limits.ts), as the stages set it. */
  MAX_BODY_BYTES: int(1024, 10_485_760).optional(),
  CORS_ORIGINS: z.string().default('*'),
  /** Completions: the default model, and caps on what one request may ask for. */
  DEFAULT_COMPLETIONS_MODEL: z.string().default('tiny-gpt2'),
  MAX_TOKENS_CAP: int(1, 32_768).default(512),
  MAX_CHOICES: int(1, 16).default(4),
  MAX_PROMPTS: int(1, 64).default(8),
  /**
   * The stage's admin keys, as comma-separated hashes of their API key ids (what
   * prediction records hold as apiKeyIdHash): they see every key's analytics and status
   * activity; every other key sees its own.
   */
  ADMIN_API_KEY_HASHES: z.string().default(''),
  /** Milliseconds kept back from the Lambda deadline to answer with a 504 in time. */
  DEADLINE_MARGIN_MS: int(0, 60_000).default(1500),
});

export type Config = z.infer<typeof ConfigSchema> & { MAX_BODY_BYTES: number };

/**
 * Parses an environment (default: `process.env`). Relative paths are taken from the
 * working directory, as a shell user expects, whether the code runs from its sources, from
 * an esbuild bundle (whose own folder is `dist/functions/<name>/`) or in the image, where
 * the cwd is LAMBDA_TASK_ROOT and the paths are absolute (`/mnt/models`). `npm start` and
 * `npm test` run in the project root, where the defaults point into the repository.
 *
 * @example
 * loadConfig({ MAX_TEXT_CHARS: '100' }).MAX_TEXT_CHARS; // => 100
 * loadConfig({ MODELS_DIR: 'models' }, '/srv/app').MODELS_DIR; // => '/srv/app/models'
 */
export const loadConfig = (env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config => {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`Invalid configuration in environment variables: ${problems}`);
  }
  const c = parsed.data;
  return {
    ...c,
    MAX_BODY_BYTES:
      c.MAX_BODY_BYTES ?? maxRequestBodyBytes({ maxTextChars: c.MAX_TEXT_CHARS, maxBatchSize: c.MAX_BATCH_SIZE }),
    MODELS_DIR: path.resolve(cwd, c.MODELS_DIR),
    MODEL_CACHE_DIR: path.resolve(cwd, c.MODEL_CACHE_DIR),
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
