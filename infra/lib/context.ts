import type { Environment } from 'aws-cdk-lib';
import { type StageConfig, stageConfig } from './stages.ts';

/** The CDK context keys the app reads (`cdk synth|deploy -c key=value`). */
export type ContextKey = 'stage' | 'account' | 'region' | 'azs' | 'alarmEmail' | 'concurrencyQuota';

export interface StageFromContext {
  readonly config: StageConfig;
  /** The stack's environment; undefined = environment-agnostic (dev and staging unless pinned). */
  readonly env?: Environment;
}

const positiveInt = (key: ContextKey, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`-c ${key}=${value}: expected a positive whole number.`);
  return n;
};

/**
 * The stage the app deploys, from the CDK context: `-c stage=` (default dev), the account
 * and region to pin it to (`-c account= -c region=`, required where the stage says so:
 * prod), its availability zones (`-c azs=a,b,c`, default the region's `a`, `b`, `c`…),
 * an e-mail subscribed to its alarms (`-c alarmEmail=`) and the account's Lambda
 * concurrency quota (`-c concurrencyQuota=`, default 1,000).
 *
 * @example
 * stageFromContext((k) => ({ stage: 'prod', account: '123456789012', region: 'eu-west-1' })[k]).config.availabilityZones;
 * // => ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']
 */
export const stageFromContext = (get: (key: ContextKey) => string | undefined): StageFromContext => {
  const base = stageConfig(get('stage'));
  const account = get('account') ?? base.env?.account;
  const region = get('region') ?? base.env?.region;
  if (base.requireEnv && !(account && region)) {
    throw new Error(
      `Stage ${base.stage} deploys to one account and region: pass -c account=<12-digit id> -c region=<region> (missing: ${[
        account ? '' : 'account',
        region ? '' : 'region',
      ]
        .filter(Boolean)
        .join(', ')}).`,
    );
  }
  const azs = get('azs')
    ?.split(',')
    .map((z) => z.trim())
    .filter(Boolean);
  const zones = azs ?? (region ? Array.from({ length: base.maxAzs }, (_, i) => `${region}${'abcdef'[i]}`) : undefined);
  if (zones && zones.length < base.maxAzs) {
    throw new Error(`Stage ${base.stage} spans ${base.maxAzs} availability zones; -c azs= names ${zones.length}.`);
  }
  const email = get('alarmEmail');
  const quota = get('concurrencyQuota');
  const config = stageConfig(base.stage, {
    env: account || region ? { account, region } : undefined,
    ...(region && zones ? { availabilityZones: zones.slice(0, base.maxAzs) } : {}),
    ...(email ? { alarms: { ...base.alarms, email } } : {}),
    ...(quota ? { accountConcurrencyQuota: positiveInt('concurrencyQuota', quota) } : {}),
  });
  return { config, env: config.env ? { account: config.env.account, region: config.env.region } : undefined };
};

/**
 * The context entry CDK's availability-zone lookup would fill, pinned to the stage's zones:
 * set on the App before the stack is made, synth of a pinned stage then makes no AWS call
 * (the zones are the stage's choice, not whatever the account lists first).
 *
 * @example
 * availabilityZonesContext(config); // => ['availability-zones:account=123456789012:region=eu-west-1', ['eu-west-1a', …]]
 */
export const availabilityZonesContext = (config: StageConfig): [string, string[]] | undefined =>
  config.env?.account && config.env.region && config.availabilityZones
    ? [`availability-zones:account=${config.env.account}:region=${config.env.region}`, [...config.availabilityZones]]
    : undefined;
