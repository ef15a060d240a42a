import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, setConfig } from '#runtime/config.ts';
import { lambdaVcpus, sessionOptions } from '#runtime/session-options.ts';

afterEach(() => setConfig(loadConfig({})));

describe('sessionOptions intra-op threads', () => {
  it('follow the function’s memory in Lambda (AWS_LAMBDA_FUNCTION_MEMORY_SIZE), not the host’s cores', () => {
    setConfig(loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }));
    expect(sessionOptions().intraOpNumThreads).toBe(1);

    setConfig(loadConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' }));
    expect(sessionOptions().intraOpNumThreads).toBe(6);
  });

  it('take ONNX_THREADS first, and this machine’s cores outside Lambda', () => {
    setConfig(loadConfig({ ONNX_THREADS: '3', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' }));
    expect(sessionOptions().intraOpNumThreads).toBe(3);

    setConfig(loadConfig({}));
    expect(sessionOptions().intraOpNumThreads).toBe(os.availableParallelism());
  });

  it('round the memory to whole vCPUs, one at least and six at most', () => {
    expect([128, 1769, 2654, 5307, 10_240].map(lambdaVcpus)).toEqual([1, 1, 2, 3, 6]);
  });
});

describe('sessionOptions intra-op spinning', () => {
  it('busy-waits by default (cores of its own, as in Lambda) and not with ONNX_SPINNING=false (shared cores)', () => {
    const spinning = () => sessionOptions().extra.session.intra_op.allow_spinning;

    setConfig(loadConfig({}));
    expect(spinning()).toBe('1');

    setConfig(loadConfig({ ONNX_SPINNING: 'false' }));
    expect(spinning()).toBe('0');
  });
});
