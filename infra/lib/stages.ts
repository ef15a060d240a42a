import type { Capability } from '#functions/routes.ts';

/**
 * One typed configuration per stage: every difference between dev, staging and prod
 * lives here, the constructs only read it. Numbers are chosen so that the function's
 * own deadline handling (504 before API Gateway gives up) still works: a buffered
 * route's integration timeout is the function timeout + 1 s and must stay under 29 s.
 */
export const STAGE_NAMES = ['dev', 'staging', 'prod'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** Functions the stack deploys: one per capability, plus the model-cache warm-up. */
export type FunctionName = Capability | 'warm';

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
  readonly functions: Readonly<Partial<Record<Capability, FunctionSettings>> & { warm: FunctionSettings }>;
  readonly defaultFunction: FunctionSettings;
  readonly usagePlans: readonly UsagePlanTier[];
  readonly waf: {
    /**
     * Largest request body let through. WAF inspects at most 64 KB of an API Gateway
     * body, so this cannot exceed 65,536; 5,000 characters of any script (up to 4 bytes
     * each in UTF-8, 12 when JSON-escaped as a surrogate pair) plus JSON fit in 64 KB.
     */
    readonly maxBodyBytes: number;
    /** Requests per client IP per 5-minute window before the rate-based rule blocks. */
    readonly ratePer5MinPerIp: number;
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
  readonly limits: { readonly maxTextChars: number; readonly maxBatchSize: number };
  readonly predictionTtlDays: number;
  /**
   * Interface endpoints beyond the S3/DynamoDB gateway endpoints. The functions call
   * only S3 and DynamoDB; Lambda ships stdout (logs and EMF metrics) to CloudWatch
   * itself, outside the VPC, so none is needed by default. Listed here for code added
   * later that calls another service directly (each costs per AZ-hour).
   */
  readonly interfaceEndpoints: readonly ('logs' | 'monitoring' | 'xray' | 'lambda')[];
  readonly maxAzs: number;
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
  },
  defaultFunction: buffered(2048),
  usagePlans: [
    { name: 'free', rateLimit: 2, burstLimit: 5, quota: { limit: 1_000, period: 'DAY' } },
    { name: 'pro', rateLimit: 20, burstLimit: 40, quota: { limit: 100_000, period: 'DAY' } },
  ],
  waf: { maxBodyBytes: 65_536, ratePer5MinPerIp: 1_000 },
  logRetentionDays: 7,
  alarms: { functionErrors: 10, p95DurationOfTimeout: 0.8, throttles: 10, api5xx: 10 },
  corsOrigins: ['http://localhost:3000'],
  removal: 'destroy',
  storeRawInputs: true,
  limits: { maxTextChars: 5000, maxBatchSize: 64 },
  predictionTtlDays: 7,
  interfaceEndpoints: [],
  maxAzs: 2,
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
  },
  defaultFunction: buffered(2048, { reservedConcurrency: 20 }),
  waf: { maxBodyBytes: 65_536, ratePer5MinPerIp: 2_000 },
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
  },
  defaultFunction: buffered(2048, { reservedConcurrency: 20 }),
  usagePlans: [
    { name: 'free', rateLimit: 5, burstLimit: 10, quota: { limit: 10_000, period: 'MONTH' } },
    { name: 'pro', rateLimit: 50, burstLimit: 100, quota: { limit: 5_000_000, period: 'MONTH' } },
  ],
  waf: { maxBodyBytes: 65_536, ratePer5MinPerIp: 5_000 },
  logRetentionDays: 90,
  alarms: { functionErrors: 1, p95DurationOfTimeout: 0.6, throttles: 1, api5xx: 1 },
  corsOrigins: ['https://app.example.com'],
  predictionTtlDays: 90,
  maxAzs: 3,
};

export const STAGES: Readonly<Record<StageName, StageConfig>> = { dev, staging, prod };

/** API Gateway's hard limit for a buffered integration. */
export const API_GATEWAY_MAX_TIMEOUT_SECONDS = 29;
/** WAF's largest body inspection size for API Gateway (KB_64). */
export const WAF_MAX_INSPECTED_BODY_BYTES = 65_536;

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
 * stages, and a setting API Gateway or WAF would reject fails at synth, not deploy.
 *
 * @example
 * stageConfig('prod').functions.predict.reservedConcurrency; // => 200
 */
export const stageConfig = (name: string | undefined, overrides: Partial<StageConfig> = {}): StageConfig => {
  const stage = name ?? 'dev';
  if (!(STAGE_NAMES as readonly string[]).includes(stage)) {
    throw new Error(`Unknown stage ${JSON.stringify(stage)}: pass -c stage=<one of ${STAGE_NAMES.join(', ')}>.`);
  }
  const config: StageConfig = { ...STAGES[stage as StageName], ...overrides };
  if (config.waf.maxBodyBytes > WAF_MAX_INSPECTED_BODY_BYTES) {
    throw new Error(
      `waf.maxBodyBytes ${config.waf.maxBodyBytes} exceeds what WAF can inspect for API Gateway (${WAF_MAX_INSPECTED_BODY_BYTES}).`,
    );
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
  return config;
};
