import { describe, expect, it } from 'vitest';
import { configuredMemoryMb, dollarsPerMillion, LAMBDA_PRICES, peakRssMb } from '../../../../bench/request-path/cpu.ts';
import { STAGES } from '../../../../infra/lib/stages.ts';

describe('what a request costs in Lambda', () => {
  it('prices billed milliseconds at the configured memory, per architecture, plus the request charge', () => {
    // Act: 10 ms at 2,048 MB is 0.02 GB-s a request, 20,000 GB-s a million.
    const cost = dollarsPerMillion(10, 2048);

    // Assess
    expect(cost.x86).toBeCloseTo(20_000 * LAMBDA_PRICES.x86PerGbSecond + 0.2, 3);
    expect(cost.arm).toBeCloseTo(20_000 * LAMBDA_PRICES.armPerGbSecond + 0.2, 3);
    expect(cost).toEqual({ x86: 0.533, arm: 0.467 });
    expect(dollarsPerMillion(0, 1024)).toEqual({ x86: 0.2, arm: 0.2 });
  });

  it('takes the memory of the prod stage, the one production pays for', () => {
    expect(configuredMemoryMb('detect')).toBe(STAGES.prod.functions.detect?.memoryMb);
    expect(configuredMemoryMb('completions')).toBe(STAGES.prod.functions.completions?.memoryMb);
  });

  it('reads a live process’s peak resident set, and 0 for a process that is gone', async () => {
    const own = await peakRssMb(process.pid);

    expect(own).toBeGreaterThanOrEqual(Math.floor(process.memoryUsage().rss / 2 ** 20) - 1);
    expect(await peakRssMb(2 ** 22 + 1)).toBe(0);
  });
});
