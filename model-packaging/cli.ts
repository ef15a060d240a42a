import { pathToFileURL } from 'node:url';
import { AppError, errorMessage, oneOf } from '#runtime/errors.ts';
import { runOutdated } from './commands/outdated.ts';
import { runImport, runPull } from './commands/pull.ts';
import { runAlias, runList, runPublish, runWarm } from './commands/registry.ts';
import { runValidate } from './commands/validate.ts';
import { type Deps, UsageError } from './common.ts';

export const HELP = `Usage: models <command> [options]

Turns Hugging Face model revisions and local folders into immutable, checksummed
bundles in the S3 model registry that the functions trust.

Commands:
  pull <hub-id>        download the files a task needs from the Hugging Face Hub
  import <dir>         the same from a local folder
  convert-fasttext     convert a fastText language-identification model to a bundle
  validate <bundle>    check checksums, load every graph, run the task, check golden.json
  publish <bundle>     upload a bundle to S3 (never overwrites a version)
  alias set            point an alias (prod, canary) at a version, optionally split
  list                 list models, tasks, versions and aliases
  outdated             models whose pinned Hub commit is behind their revision (exit 3)
  warm <name@ref>      fill a cache folder from S3 through the model store

Run "models <command> --help" for a command's options. --debug prints an error's cause chain.`;

type Command = (argv: string[], deps: Deps) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  pull: runPull,
  import: runImport,
  validate: runValidate,
  publish: runPublish,
  alias: runAlias,
  list: runList,
  outdated: runOutdated,
  warm: runWarm,
  'convert-fasttext': async (argv) => {
    // Loaded on demand: the converter is its own module and only this command needs it.
    const { runConvertFasttext } = await import('./fasttext/index.ts');
    return runConvertFasttext(argv);
  },
};

/** The error and its causes, with stacks: what `--debug` prints. */
const causeChain = (error: unknown): string => {
  const lines: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 10; depth++) {
    lines.push(depth === 0 ? String((e as Error).stack ?? e) : `caused by: ${String((e as Error).stack ?? e)}`);
    e = (e as { cause?: unknown }).cause;
  }
  return lines.join('\n');
};

const defaultDeps = (): Deps => ({
  io: {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    isTTY: process.stderr.isTTY === true,
    stderr: process.stderr,
  },
  // The CLI is its own entry point (not a function): it reads HF_TOKEN/HF_ENDPOINT here, once.
  env: process.env,
  retryBaseMs: 500,
});

/**
 * Runs the CLI on `argv` (without `node` and the script) and returns the exit code:
 * 0 done, 1 the command failed, 2 a wrong command line. Errors end as one line on
 * stderr; `--debug` adds the cause chain.
 *
 * @example
 * await main(['pull', '--help']); // => 0, usage on stdout
 */
export const main = async (argv: string[], overrides: Partial<Deps> = {}): Promise<number> => {
  const deps = { ...defaultDeps(), ...overrides };
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      (name === undefined ? deps.io.err : deps.io.out)(HELP);
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS[name];
    if (!command) {
      throw new UsageError(
        `unknown command ${JSON.stringify(name)}. Must be one of ${oneOf(Object.keys(COMMANDS))}; run "models --help".`,
      );
    }
    return await command(rest, deps);
  } catch (error) {
    const message = errorMessage(error);
    deps.io.err(`error: ${message.split('\n')[0]}`);
    if (debug) deps.io.err(causeChain(error));
    return error instanceof UsageError || (error instanceof AppError && error.status === 400) ? 2 : 1;
  }
};

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
