import { type ParseArgsConfig, parseArgs } from 'node:util';
import { AppError, oneOf } from '#runtime/errors.ts';
import { TASKS, type Task } from '#runtime/manifest.ts';

/** Where a command writes: injectable so tests run the CLI in-process and read what it printed. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is a terminal: progress bars then, plain periodic lines otherwise. */
  readonly isTTY: boolean;
  /** Raw stderr stream for cli-progress (only used when `isTTY`). */
  readonly stderr?: NodeJS.WritableStream;
}

/** What the commands take from the outside world; `main` fills it from `process`. */
export interface Deps {
  io: Io;
  env: Readonly<Record<string, string | undefined>>;
  /** Base delay of the exponential backoff between Hub retries (tests shorten it). */
  retryBaseMs: number;
}

/** A wrong command line: the message says what to type instead. Exit code 2. */
export class UsageError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(400, 'usage_error', message, options);
  }
}

/** A command that ran but could not finish (unreachable endpoint, missing file, bad graph). Exit code 1. */
export class CommandError extends AppError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(500, 'command_failed', message, options);
  }
}

export type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts. */
export const COMMON_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} as const satisfies Options;

/**
 * `parseArgs` in strict mode, with its errors (unknown flag, missing value) turned into
 * one-line `UsageError`s that point at `--help`.
 *
 * @example
 * parse('pull', ['org/m', '--task', 'translation'], { task: { type: 'string' } });
 * // => { values: { task: 'translation' }, positionals: ['org/m'] }
 */
export const parse = <O extends Options>(command: string, argv: string[], options: O) => {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (cause) {
    const message = (cause as Error).message.split('\n')[0] ?? 'invalid arguments';
    throw new UsageError(`${command}: ${message}. Run "models ${command} --help" for usage.`, { cause });
  }
};

/** The value of a required flag or a `UsageError` naming it. */
export const required = (command: string, flag: string, value: string | undefined): string => {
  if (value === undefined || value === '') {
    throw new UsageError(`${command}: missing --${flag}. Run "models ${command} --help" for usage.`);
  }
  return value;
};

/** The n-th positional or a `UsageError` naming it. */
export const positional = (command: string, what: string, positionals: string[], index = 0): string => {
  const value = positionals[index];
  if (value === undefined)
    throw new UsageError(`${command}: missing <${what}>. Run "models ${command} --help" for usage.`);
  return value;
};

export const parseTask = (command: string, value: string | undefined): Task => {
  const task = required(command, 'task', value);
  if (!(TASKS as readonly string[]).includes(task)) {
    throw new UsageError(`${command}: unknown task ${JSON.stringify(task)}. Must be one of ${oneOf(TASKS)}.`);
  }
  return task as Task;
};

export const DTYPES = ['fp32', 'q8'] as const;
export type Dtype = (typeof DTYPES)[number];

export const parseDtype = (command: string, value: string | undefined): Dtype => {
  const dtype = value ?? 'fp32';
  if (!(DTYPES as readonly string[]).includes(dtype)) {
    throw new UsageError(`${command}: unknown --dtype ${JSON.stringify(dtype)}. Must be one of ${oneOf(DTYPES)}.`);
  }
  return dtype as Dtype;
};

/** The files a task needs, relative to the bundle; `optional` ones are taken when present. */
export interface TaskFiles {
  required: string[];
  optional: string[];
}

/**
 * The files a bundle of `task` needs, in the transformers.js layout, for one dtype.
 *
 * @example
 * taskFiles('text-classification', 'q8').required;
 * // => ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']
 */
export const taskFiles = (task: Task, dtype: Dtype): TaskFiles => {
  const q = dtype === 'q8' ? '_quantized' : '';
  const text = ['config.json', 'tokenizer.json', 'tokenizer_config.json'];
  const optional = ['special_tokens_map.json', 'golden.json'];
  switch (task) {
    case 'text-classification':
      return { required: [...text, `onnx/model${q}.onnx`], optional };
    case 'translation':
      return {
        required: [
          ...text,
          'generation_config.json',
          `onnx/encoder_model${q}.onnx`,
          `onnx/decoder_model_merged${q}.onnx`,
        ],
        optional,
      };
    case 'text-generation':
      return { required: [...text, 'generation_config.json', `onnx/model${q}.onnx`], optional };
    case 'language-identification':
      // The layout convert-fasttext writes (layers/tasks/langid reads these two).
      return { required: ['onnx/model.onnx', 'featurizer.json'], optional: ['golden.json'] };
  }
};

/** The ONNX graphs of `files`. */
export const onnxFiles = (files: TaskFiles): string[] => files.required.filter((f) => f.endsWith('.onnx'));

/** Human-readable byte count for progress lines. */
export const formatBytes = (n: number): string =>
  n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
