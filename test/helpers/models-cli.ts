import { main } from '../../model-packaging/cli.ts';

/**
 * Runs the `hf-models` CLI in-process with no environment and no TTY, collecting what it
 * prints; `retryBaseMs` shortens the pull's backoff for the stand-in Hub's failures.
 */
export const runModelsCli = async (argv: string[], { retryBaseMs }: { retryBaseMs: number }) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    io: { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false },
    env: {},
    retryBaseMs,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
};
