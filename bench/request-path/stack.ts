import path from 'node:path';
import { loadLocalConfig } from '#local/config.ts';
import { startLocalStack } from '#local/stack.ts';
import { ROOT } from '../lib.ts';

/** The tiny test fixtures the request-path benchmarks serve (and bare inference loads). */
export const MODELS_ROOT = path.join(ROOT, 'test/fixtures/models');

/**
 * The functions' configuration in the request-path benchmarks: the tiny fixtures as each
 * capability's default model, the shared result-cache tier off, one ONNX intra-op thread.
 */
export const BENCH_FUNCTION_ENV = {
  LOG_LEVEL: 'WARN',
  RESULT_CACHE_SHARED: 'never',
  MODELS_DIR: MODELS_ROOT,
  ONNX_THREADS: process.env.ONNX_THREADS ?? '1',
  DEFAULT_DETECT_MODEL: 'lid176',
  DEFAULT_PREDICT_MODEL: 'tiny-distilbert-sentiment',
  DEFAULT_TRANSLATE_MODEL: 'tiny-nllb',
  DEFAULT_COMPLETIONS_MODEL: 'tiny-gpt2',
};

/**
 * The local stack as the request-path benchmarks run it: functions in this process, the
 * tiny fixtures as each capability's default model, `key` allowed far above any
 * throttle, the shared result-cache tier off (its read is on the path by design, not the
 * record write), one ONNX intra-op thread.
 *
 * One thread, as detect (1,024 MB) and predict (2,048 MB) get in AWS (one vCPU,
 * `lambdaVcpus`), for the functions and bare inference alike. With the machine's two
 * cores, the intra-op pools of the eight sessions in this process spin against each other
 * on a loaded host: bare predict measured 9.5 ms there against 0.3 ms.
 */
export const startBenchStack = (key: string, options: Parameters<typeof startLocalStack>[2] = {}) =>
  startLocalStack(
    loadLocalConfig({
      PORT: '0',
      LOCAL_API_KEY: `${key}:100000:100000`,
      LOCAL_DATA_DIR: 'memory',
      LOCAL_EMF_ECHO: 'false',
    }),
    { ...process.env, ...BENCH_FUNCTION_ENV },
    options,
  );
