import path from 'node:path';
import * as z from 'zod';
import { ConfigurationError } from '#runtime/errors.ts';

/** The key `npm start` accepts when LOCAL_API_KEY is not set (documented in README). */
export const DEFAULT_DEV_KEY = 'local-dev-key';

/**
 * The emulator's own settings (the functions' settings are in layers/runtime/config.ts).
 * Read once, here only.
 */
export const LocalConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /**
   * Comma-separated accepted API keys. A key may carry its own usage-plan tier as
   * `key:rate:burst` (requests per second, burst), `key:rate:burst:quota` (plus
   * requests per UTC day) or `key:rate:burst:quota:plan` (plus the plan's name, for the
   * per-plan allowances of FAIR_USE_PLANS; quota may be empty), like keys on different plans in AWS.
   */
  LOCAL_API_KEY: z.string().min(1).default(DEFAULT_DEV_KEY),
  /** Usage-plan throttle per key: steady requests per second and burst. */
  LOCAL_RATE_LIMIT: z.coerce.number().positive().default(50),
  LOCAL_BURST: z.coerce.number().int().positive().default(100),
  /** Where the embedded dynalite keeps its data; "memory" for none. */
  LOCAL_DATA_DIR: z.string().default('.data/dynalite'),
  /** Function timeout the emulator gives handlers (API Gateway's limit is 29 s). */
  LOCAL_TIMEOUT_MS: z.coerce.number().int().positive().default(28_000),
  /**
   * 0 runs the handlers inside the emulator's process. N > 0 runs each function in up to N
   * instance processes that serve one request at a time, like Lambda execution
   * environments (cold starts included); more requests wait for a free instance.
   */
  LOCAL_FUNCTION_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(0),
  /** The code instances run: `source` (functions/<fn>/handler.ts) or `dist` (the `npm run build` bundles). */
  LOCAL_FUNCTION_CODE: z.enum(['source', 'dist']).default('source'),
  /**
   * Print the functions' EMF metric lines to stdout, as Lambda would send them to
   * CloudWatch Logs; "false" keeps them for the metrics view (/metrics-view) only.
   */
  LOCAL_EMF_ECHO: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
});
export type LocalConfig = z.infer<typeof LocalConfigSchema>;

export const loadLocalConfig = (
  env: Record<string, string | undefined> = process.env,
  root = process.cwd(),
): LocalConfig => {
  const parsed = LocalConfigSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigurationError(
      `Invalid local configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const c = parsed.data;
  return { ...c, LOCAL_DATA_DIR: c.LOCAL_DATA_DIR === 'memory' ? 'memory' : path.resolve(root, c.LOCAL_DATA_DIR) };
};
