import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The AWS Lambda runtime interface client (npm `aws-lambda-ric`, the runtime the Lambda
 * Node.js base images carry), an optional dependency: it compiles curl and aws-lambda-cpp
 * when installed, which needs cmake, autoconf, automake, libtool and a C++ compiler
 * (`.ci/run` installs the missing ones). Its native client speaks the Runtime API's
 * buffered calls (next, response, error); its JavaScript streams responses.
 */
export const RIC_DIR = path.resolve(import.meta.dirname, '../../node_modules/aws-lambda-ric');
const RIC_ENTRY = path.join(RIC_DIR, 'index.mjs');

/** True when the runtime client is installed with its native part. */
export const runtimeClientInstalled = (): boolean =>
  existsSync(RIC_ENTRY) && existsSync(path.join(RIC_DIR, 'rapid-client.node'));

export interface RunningFunction {
  child: ChildProcess;
  /** Everything the function printed (its logs, EMF lines). */
  output: () => string;
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * Starts a function as the image's entrypoint does: the runtime client in `node`, with cwd
 * at the task root, `_HANDLER` from the image command (`functions/<name>/handler.handler`),
 * the Lambda environment and the function's own variables.
 *
 * @example
 * const fn = startFunction({ taskRoot, handler: 'functions/predict/handler.handler', runtimeApi: api.address, env: {} });
 */
export const startFunction = (opts: {
  taskRoot: string;
  handler: string;
  runtimeApi: string;
  env: Record<string, string>;
}): RunningFunction => {
  const child = spawn(process.execPath, [RIC_ENTRY], {
    cwd: opts.taskRoot,
    env: {
      PATH: process.env.PATH ?? '',
      LAMBDA_TASK_ROOT: opts.taskRoot,
      _HANDLER: opts.handler,
      AWS_LAMBDA_RUNTIME_API: opts.runtimeApi,
      AWS_LAMBDA_FUNCTION_NAME: 'hf-serve-test',
      AWS_LAMBDA_FUNCTION_VERSION: '1',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/hf-serve-test',
      AWS_LAMBDA_LOG_STREAM_NAME: 'test',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: 'AWS_Lambda_Image',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
};
