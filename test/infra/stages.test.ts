import { describe, expect, it } from 'vitest';
import { lambdaVcpus } from '#runtime/session-options.ts';
import { stageFromContext } from '../../infra/lib/context.ts';
import {
  type FunctionName,
  fairUsePlans,
  functionSettings,
  STAGES,
  stageConfig,
  wafRateLimits,
} from '../../infra/lib/stages.ts';
import { imageFunctionEnv, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

const fromContext = (context: Record<string, string>) => stageFromContext((k) => context[k]);

describe('stage context', () => {
  it('requires prod to be pinned to an account and region, and names what is missing', () => {
    expect(() => fromContext({ stage: 'prod' })).toThrow(
      /-c account=<12-digit id> -c region=<region> \(missing: account, region\)/,
    );
    expect(() => fromContext({ stage: 'prod', account: '123456789012' })).toThrow(/missing: region/);
    expect(fromContext({ stage: 'dev' }).env).toBeUndefined();
  });

  it('pins prod to the given environment and three zones of its region (or those of -c azs=)', () => {
    const pinned = fromContext({ stage: 'prod', account: '123456789012', region: 'eu-west-1' });
    const chosen = fromContext({
      stage: 'prod',
      account: '1',
      region: 'ap-northeast-1',
      azs: 'ap-northeast-1a,ap-northeast-1c,ap-northeast-1d',
    });

    expect(pinned.env).toEqual({ account: '123456789012', region: 'eu-west-1' });
    expect(pinned.config.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(chosen.config.availabilityZones).toEqual(['ap-northeast-1a', 'ap-northeast-1c', 'ap-northeast-1d']);
    expect(() => fromContext({ stage: 'prod', account: '1', region: 'r', azs: 'ra,rb' })).toThrow(
      /3 availability zones/,
    );
  });

  it(
    'synthesizes prod with subnets in three zones',
    () => {
      const zones = Object.values(resourcesOf(synthStage('prod').template, 'AWS::EC2::Subnet')).map(
        (s) => (s.Properties as { AvailabilityZone: string }).AvailabilityZone,
      );

      expect(new Set(zones)).toEqual(new Set(['us-east-1a', 'us-east-1b', 'us-east-1c']));
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe('reserved concurrency against the account quota', () => {
  it('fails at synth when the functions reserve more than the quota leaves unreserved, and -c concurrencyQuota= lifts it', () => {
    const reserved = (['predict', 'detect', 'translate', 'completions', 'warm', 'import'] as FunctionName[]).reduce(
      (n, fn) => n + (functionSettings(STAGES.prod, fn).reservedConcurrency ?? 0),
      0,
    );
    const tight = String(reserved + 99);
    const context = { stage: 'prod', account: '123456789012', region: 'us-east-1' };

    expect(() => fromContext({ ...context, concurrencyQuota: tight })).toThrow(
      new RegExp(`reserves ${reserved} concurrent executions.*quota of ${tight} leaves ${reserved - 1}`),
    );
    expect(fromContext({ ...context, concurrencyQuota: String(reserved + 100) }).config.accountConcurrencyQuota).toBe(
      reserved + 100,
    );
    expect(() => fromContext({ ...context, concurrencyQuota: 'lots' })).toThrow(/positive whole number/);
  });
});

describe('sizes derived from one configuration', () => {
  it('sets each function’s ONNX threads to the vCPUs of its memory, not the host’s cores', () => {
    for (const fn of ['predict', 'detect', 'translate', 'completions', 'warm'] as const) {
      const memory = functionSettings(STAGES.dev, fn).memoryMb;
      expect(imageFunctionEnv('dev', fn).ONNX_THREADS, fn).toBe(String(lambdaVcpus(memory)));
    }
    expect([1024, 1769, 3008, 4096, 10_240].map(lambdaVcpus)).toEqual([1, 1, 2, 2, 6]);
  });

  it('derives the WAF rate limits from the usage plans', () => {
    expect(wafRateLimits(stageConfig('prod'))).toEqual({ perKey: 50 * 300 + 100, perIp: (50 * 300 + 100) * 4 });
  });
});

describe('fair use per usage plan', () => {
  it('names each tier with its own allowances by its usage plan name, and refuses an allowance that is not a whole number', () => {
    const dev = stageConfig('dev');
    const bad = dev.usagePlans.map((t, i) => (i === 0 ? { ...t, tokensPerDay: -5 } : t));

    expect(fairUsePlans(dev)).toEqual({ 'hf-serve-dev-free': { charactersPerDay: 200_000, tokensPerDay: 50_000 } });
    expect(() => stageConfig('dev', { usagePlans: bad })).toThrow(/usage plan free: charactersPerDay and tokensPerDay/);
  });
});
