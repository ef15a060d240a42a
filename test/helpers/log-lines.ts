import { vi } from 'vitest';

type Write = typeof process.stdout.write;

/**
 * Captures the structured (JSON) log lines with one `message` that this process prints,
 * as CloudWatch would receive them, and keeps them out of the test output; other output
 * passes through. Powertools prints through a `Console` on `process.stdout`/`stderr`, so
 * the lines are taken at the streams' `write` (the handlers run in the test's process).
 *
 * @example
 * const fallbacks = captureLogLines('predictionLogFallback');
 * // ... requests ...
 * fallbacks.lines; // => [{ level: 'ERROR', message: 'predictionLogFallback', predictionLogFallback: {...} }]
 * fallbacks.restore();
 */
export const captureLogLines = (message: string) => {
  const lines: Array<Record<string, unknown>> = [];
  const tap = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream) as Write;
    return vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: never[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      let kept = false;
      for (const line of text.split('\n')) {
        if (!line.includes(`"message":${JSON.stringify(message)}`)) continue;
        lines.push(JSON.parse(line) as Record<string, unknown>);
        kept = true;
      }
      return kept ? true : original(chunk as string, ...rest);
    }) as Write);
  };
  const spies = [tap(process.stdout), tap(process.stderr)];
  return {
    lines,
    restore: () => {
      for (const spy of spies) spy.mockRestore();
    },
  };
};
