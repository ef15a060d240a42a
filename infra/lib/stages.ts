import type { Capability } from '#functions/routes.ts';
import { BODY_OVERHEAD_BYTES, MAX_JSON_BYTES_PER_CHAR, maxRequestBodyBytes } from '#runtime/limits.ts';

/**
 * One typed configuration per stage: every difference between dev, staging and prod
 * lives here, the constructs only read it. Numbers are chosen so that the function's
 * own deadline handling (504 before API Gateway gives up) still works: a buffered
 * route's integration timeout is the function timeout + 1 s and must stay under 29 s.
 */
export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Functions the stack deploys: one per capability, plus the model-cache warm-up. */
export type FunctionName = Capability | 'warm' | 'ingest' | 'import';
/** Every function in the image: the deployed ones plus the API key authorizer and key sync (sized by their constructs). */
export type ImageFunctionName = FunctionName | 'authorizer' | 'key-sync';

export interface FunctionSettings {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Caps the function's share of the account's concurrency; undefined = unreserved. */
  readonly reservedConcurrency?: number;
  /** Pre-initialised environments on the `live` alias (model already in memory after warm-up). */
  readonly provisionedConcurrency?: number;
}

/** A usage plan: every API key is attached to exactly one tier. */
export interface UsagePlanTier {
  readonly name: string;
  /** Steady-state requests per second per key. */
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly quota: { readonly limit: number; readonly period: 'DAY' | 'WEEK' | 'MONTH' };
  /**
   * This tier's own fair-use allowances per key and UTC day (0 = not metered); a unit left out
   * gets the stage's `fairUse` number. The functions learn a key's plan from the authorizer's
   * context (header keys) or the key mirror (body keys): see docs/keys.md.
   */
  readonly charactersPerDay?: number;
  readonly tokensPerDay?: number;
}

export interface StageConfig {
  readonly stage: StageName;
  /** Account/region to pin the stack to; omitted = environment-agnostic (synth works offline). */
  readonly env?: { readonly account?: string; readonly region?: string };
  readonly serviceName: string;
  readonly metricsNamespace: string;
  readonly architecture: 'arm64' | 'x86_64';
  readonly logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /**
   * Settings per function (capabilities without routes get no function at all); a
   * capability not named here gets `defaultFunction`, so a new one deploys before it is sized.
   */
  readonly functions: Readonly<
    Partial<Record<Capability, FunctionSettings>> & {
      warm: FunctionSettings;
      ingest?: FunctionSettings;
      import?: FunctionSettings;
    }
  >;
  readonly defaultFunction: FunctionSettings;
  readonly usagePlans: readonly UsagePlanTier[];
  readonly waf: {
    /**
     * How many clients may share one source IP (an office NAT, a CI fleet) and each still
     * send at its plan's full rate: the per-IP rate limit is this many times the top plan's.
     */
    readonly clientsPerIp: number;
  };
  readonly logRetentionDays: 7 | 14 | 30 | 90 | 180 | 365;
  readonly alarms: {
    /** Function errors per 5 minutes. */
    readonly functionErrors: number;
    /** p95 duration as a fraction of the function timeout. */
    readonly p95DurationOfTimeout: number;
    /** Throttled invocations per 5 minutes. */
    readonly throttles: number;
    /** API 5xx responses per 5 minutes. */
    readonly api5xx: number;
    /** Optional e-mail subscribed to the alarm topic. */
    readonly email?: string;
  };
  readonly corsOrigins: readonly string[];
  /** destroy: data stores go with the stack (dev); retain: they outlive it. */
  readonly removal: 'destroy' | 'retain';
  readonly storeRawInputs: boolean;
  /**
   * The stage's admin keys, as hashes of their API key ids (what prediction records hold
   * as apiKeyIdHash): they see every key's analytics and /v1/status activity. Default none.
   */
  readonly adminApiKeyHashes?: readonly string[];
  readonly limits: { readonly maxTextChars: number; readonly maxBatchSize: number };
  /**
   * Per key, beyond the usage plans' request counts (layers/predictions/usage.ts): input
   * characters to translate and detect and completion tokens per UTC day (0 = not metered),
   * and heavy requests in flight per key on one instance. The character and token numbers are
   * the default of every key: a usage plan tier may set its own (`UsagePlanTier`), and a key
   * whose plan is unknown gets these.
   */
  readonly fairUse: {
    readonly charactersPerDay: number;
    readonly tokensPerDay: number;
    readonly heavyInFlightPerKey: number;
  };
  readonly predictionTtlDays: number;
  /**
   * Hugging Face ids a request may name to import a model on demand (docs/hub-import.md):
   * patterns such as `Xenova/*` (`*` within one path segment). Empty turns imports off: a
   * Hub id is then a 403 saying to add a pattern here.
   */
  readonly hubImportAllow: readonly string[];
  /**
   * Interface endpoints beyond the S3/DynamoDB gateway endpoints. The functions call
   * only S3 and DynamoDB; Lambda ships stdout (logs and EMF metrics) to CloudWatch
   * itself, outside the VPC, so none is needed by default. Listed here for code added
   * later that calls another service directly (each costs per AZ-hour).
   */
  readonly interfaceEndpoints: readonly ('logs' | 'monitoring' | 'xray' | 'lambda')[];
  readonly maxAzs: number;
  /**
   * The stage deploys to one account and region only, named at synth (`-c account= -c region=`):
   * then the VPC spans `maxAzs` real zones instead of the two an environment-agnostic stack gets.
   */
  readonly requireEnv: boolean;
  /** The zones the VPC spans when the stack is pinned to a region (default `<region>a`, `b`, `c`…). */
  readonly availabilityZones?: readonly string[];
  /**
   * The account's concurrent-executions quota in the region (Lambda's default is 1,000):
   * the functions' reserved concurrency must leave Lambda's 100 unreserved within it.
   */
  readonly accountConcurrencyQuota: number;
}

const buffered = (memoryMb: number, extra: Partial<FunctionSettings> = {}): FunctionSettings => ({
  memoryMb,
  timeoutSeconds: 27,
  ...extra,
});

const dev: StageConfig = {
  stage: 'dev',
  serviceName: 'hf-serve',
  metricsNamespace: 'HfServe',
  architecture: 'arm64',
  logLevel: 'DEBUG',
  functions: {
    predict: buffered(2048),
    detect: buffered(1024),
    translate: buffered(3008),
    // Streaming integrations are not bound by API Gateway's 29 s (up to 15 min).
    completions: { memoryMb: 3008, timeoutSeconds: 120 },
    warm: { memoryMb: 1024, timeoutSeconds: 900 },
    // Downloads, validates and uploads one model per invocation (up to Lambda's 15 minutes).
    import: { memoryMb: 3008, timeoutSeconds: 900 },
  },
  defaultFunction: buffered(2048),
  usagePlans: [
    // free: a tenth of the stage's fair-use allowances; pro: the stage's.
    {
      name: 'free',
      rateLimit: 2,
      burstLimit: 5,
      quota: { limit: 1_000, period: 'DAY' },
      charactersPerDay: 200_000,
      tokensPerDay: 50_000,
    },
    { name: 'pro', rateLimit: 20, burstLimit: 40, quota: { limit: 100_000, period: 'DAY' } },
  ],
  waf: { clientsPerIp: 4 },
  logRetentionDays: 7,
  alarms: { functionErrors: 10, p95DurationOfTimeout: 0.8, throttles: 10, api5xx: 10 },
  corsOrigins: ['http://localhost:3000'],
  removal: 'destroy',
  storeRawInputs: true,
  limits: { maxTextChars: 5000, maxBatchSize: 64 },
  fairUse: { charactersPerDay: 2_000_000, tokensPerDay: 500_000, heavyInFlightPerKey: 1 },
  predictionTtlDays: 7,
  hubImportAllow: ['Xenova/*', 'onnx-community/*'],
  interfaceEndpoints: [],
  maxAzs: 2,
  requireEnv: false,
  accountConcurrencyQuota: 1_000,
};

const staging: StageConfig = {
  ...dev,
  stage: 'staging',
  logLevel: 'INFO',
  functions: {
    predict: buffered(2048, { reservedConcurrency: 20 }),
    detect: buffered(1024, { reservedConcurrency: 20 }),
    translate: buffered(3008, { reservedConcurrency: 20 }),
    completions: { memoryMb: 3008, timeoutSeconds: 120, reservedConcurrency: 10 },
    warm: { memoryMb: 1024, timeoutSeconds: 900, reservedConcurrency: 2 },
    import: { memoryMb: 3008, timeoutSeconds: 900, reservedConcurrency: 2 },
  },
  defaultFunction: buffered(2048, { reservedConcurrency: 20 }),
  logRetentionDays: 30,
  alarms: { functionErrors: 5, p95DurationOfTimeout: 0.7, throttles: 5, api5xx: 5 },
  corsOrigins: ['https://staging.example.com'],
  removal: 'retain',
  storeRawInputs: false,
  predictionTtlDays: 30,
};

const prod: StageConfig = {
  ...staging,
  stage: 'prod',
  functions: {
    predict: buffered(2048, { reservedConcurrency: 200, provisionedConcurrency: 2 }),
    detect: buffered(1024, { reservedConcurrency: 200, provisionedConcurrency: 1 }),
    translate: buffered(3008, { reservedConcurrency: 100, provisionedConcurrency: 1 }),
    completions: { memoryMb: 4096, timeoutSeconds: 300, reservedConcurrency: 50, provisionedConcurrency: 1 },
    warm: { memoryMb: 1024, timeoutSeconds: 900, reservedConcurrency: 2 },
    import: { memoryMb: 3008, timeoutSeconds: 900, reservedConcurrency: 2 },
  },
  defaultFunction: buffered(2048, { reservedConcurrency: 20 }),
  usagePlans: [
    {
      name: 'free',
      rateLimit: 5,
      burstLimit: 10,
      quota: { limit: 10_000, period: 'MONTH' },
      charactersPerDay: 200_000,
      tokensPerDay: 50_000,
    },
    { name: 'pro', rateLimit: 50, burstLimit: 100, quota: { limit: 5_000_000, period: 'MONTH' } },
  ],
  logRetentionDays: 90,
  alarms: { functionErrors: 1, p95DurationOfTimeout: 0.6, throttles: 1, api5xx: 1 },
  corsOrigins: ['https://app.example.com'],
  predictionTtlDays: 90,
  // Production serves what was published on purpose: imports stay off until a pattern is added.
  hubImportAllow: [],
  maxAzs: 3,
  requireEnv: true,
};

export const STAGES: Readonly<Record<StageName, StageConfig>> = { dev, staging, prod };

/** API Gateway's hard limit for a buffered integration. */
export const API_GATEWAY_MAX_TIMEOUT_SECONDS = 29;
/** API Gateway's payload limit (REQUEST_TOO_LARGE above it). */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** WAF's largest body inspection size for API Gateway (KB_64): it sees no byte past it. */
export const WAF_MAX_INSPECTED_BODY_BYTES = 65_536;
/** Lambda keeps this much of the account's concurrency unreserved. */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;
/** The window of WAF's rate-based rules. */
export const WAF_RATE_WINDOW_SECONDS = 300;
export { BODY_OVERHEAD_BYTES, MAX_JSON_BYTES_PER_CHAR, maxRequestBodyBytes };

/**
 * The WAF rate limits of a stage, from its usage plans: per API key, what the top plan lets
 * one key send in the window (its rate for the whole window plus one burst), so a key
 * within its plan is never blocked; per IP, that times `waf.clientsPerIp`.
 *
 * @example
 * wafRateLimits(stageConfig('prod')); // => { perKey: 15100, perIp: 60400 }
 */
export const wafRateLimits = (config: StageConfig): { perKey: number; perIp: number } => {
  const perKey = Math.max(...config.usagePlans.map((p) => p.rateLimit * WAF_RATE_WINDOW_SECONDS + p.burstLimit));
  return { perKey, perIp: perKey * config.waf.clientsPerIp };
};

/**
 * A tier's usage plan name as API Gateway knows it (and the authorizer and key mirror report it).
 *
 * @example
 * usagePlanName(stageConfig('dev'), stageConfig('dev').usagePlans[0]!); // => 'hf-serve-dev-free'
 */
export const usagePlanName = (config: StageConfig, tier: UsagePlanTier): string =>
  `${config.serviceName}-${config.stage}-${tier.name}`;

/**
 * The functions' `FAIR_USE_PLANS`: each tier that sets its own allowances, by its usage plan's
 * name, with only the units it sets (the others fall back to the stage's `fairUse`).
 *
 * @example
 * fairUsePlans(stageConfig('dev')); // => { 'hf-serve-dev-free': { charactersPerDay: 200000, tokensPerDay: 50000 } }
 */
export const fairUsePlans = (
  config: StageConfig,
): Record<string, { charactersPerDay?: number; tokensPerDay?: number }> =>
  Object.fromEntries(
    config.usagePlans
      .filter((t) => t.charactersPerDay !== undefined || t.tokensPerDay !== undefined)
      .map((t) => [
        usagePlanName(config, t),
        {
          ...(t.charactersPerDay === undefined ? {} : { charactersPerDay: t.charactersPerDay }),
          ...(t.tokensPerDay === undefined ? {} : { tokensPerDay: t.tokensPerDay }),
        },
      ]),
  );

/**
 * A function's settings in a stage: its own, or the stage's default for a capability not sized yet.
 *
 * @example
 * functionSettings(stageConfig('dev'), 'detect').memoryMb; // => 1024
 */
export const functionSettings = (config: StageConfig, name: FunctionName): FunctionSettings =>
  config.functions[name] ?? config.defaultFunction;

/**
 * The configuration of a stage, checked: a typo in `-c stage=` lists the valid
 * stages, and a setting API Gateway or Lambda would reject fails at synth, not deploy.
 * `functions` are the stack's functions, for the concurrency check (default: the stage's
 * sized functions).
 *
 * @example
 * stageConfig('prod').functions.predict.reservedConcurrency; // => 200
 */
export const stageConfig = (
  name: string | undefined,
  overrides: Partial<StageConfig> = {},
  functions?: readonly FunctionName[],
): StageConfig => {
  const stage = name ?? 'dev';
  if (!(STAGE_NAMES as readonly string[]).includes(stage)) {
    throw new Error(`Unknown stage ${JSON.stringify(stage)}: pass -c stage=<one of ${STAGE_NAMES.join(', ')}>.`);
  }
  const config: StageConfig = { ...STAGES[stage as StageName], ...overrides };
  const body = maxRequestBodyBytes(config.limits);
  if (body > API_GATEWAY_MAX_PAYLOAD_BYTES) {
    throw new Error(
      `limits allow ${body}-byte bodies, over API Gateway's ${API_GATEWAY_MAX_PAYLOAD_BYTES}: lower maxBatchSize or maxTextChars in stage ${stage}.`,
    );
  }
  for (const tier of config.usagePlans) {
    for (const n of [tier.charactersPerDay, tier.tokensPerDay]) {
      if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= 1e12)) {
        throw new Error(
          `usage plan ${tier.name}: charactersPerDay and tokensPerDay must be whole numbers from 0 to 1e12 (0 = not metered) in stage ${stage}.`,
        );
      }
    }
  }
  for (const [fn, s] of [...Object.entries(config.functions), ['defaultFunction', config.defaultFunction] as const]) {
    if (
      s.provisionedConcurrency &&
      s.reservedConcurrency !== undefined &&
      s.provisionedConcurrency > s.reservedConcurrency
    ) {
      throw new Error(`${fn}: provisionedConcurrency must not exceed reservedConcurrency in stage ${stage}.`);
    }
  }
  checkReservedConcurrency(config, functions ?? (Object.keys(config.functions) as FunctionName[]));
  return config;
};

/**
 * Fails when the functions reserve more concurrency than the account's quota allows
 * (Lambda keeps 100 unreserved; a deploy past it fails half-way, after the image push).
 *
 * @example
 * checkReservedConcurrency(stageConfig('prod'), ['predict', 'detect', 'translate', 'completions', 'warm', 'import']); // passes: 554 of 900
 */
export const checkReservedConcurrency = (config: StageConfig, names: readonly FunctionName[]): void => {
  const reserved = names.reduce((n, fn) => n + (functionSettings(config, fn).reservedConcurrency ?? 0), 0);
  const room = config.accountConcurrencyQuota - LAMBDA_MIN_UNRESERVED_CONCURRENCY;
  if (reserved > room) {
    throw new Error(
      `stage ${config.stage} reserves ${reserved} concurrent executions (${names.join(', ')}); the account quota of ${config.accountConcurrencyQuota} leaves ${room} after Lambda's ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved: lower reservedConcurrency or raise the quota (-c concurrencyQuota=<n> once AWS has raised it).`,
    );
  }
};
