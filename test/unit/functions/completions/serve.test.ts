import type { Readable } from 'node:stream';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GenerationJob, serve } from '#functions/completions/serve.ts';
import type { ApiEvent } from '#http/types.ts';
import { requestRecords } from '#predictions/index.ts';
import { DeadlineExceededError, ValidationError } from '#runtime/errors.ts';
import type { TokenDelta } from '#tasks/generation/index.ts';

const context = { awsRequestId: 'aws-1', getRemainingTimeInMillis: () => 20_000 } as unknown as Context;
const event = { requestContext: { requestId: 'req-7' } } as unknown as ApiEvent;

/** A streamed completion job on the fixture model whose run sends one token, then fails with `error`. */
const failingJob = (error: Error): GenerationJob => ({
  kind: 'completion',
  model: 'tiny-gpt2',
  prompts: ['Hello'],
  options: { maxTokens: 4 },
  stream: true,
  includeUsage: false,
  validate: () => undefined,
  run: async (_gen, _options, onToken?: (d: TokenDelta) => void) => {
    onToken?.({ index: 0, text: 'Hi', tokenIds: [17] });
    throw error;
  },
});

/** A meter that remembers what the route settled. */
const spyMeter = () => {
  const settled: number[] = [];
  return { settled, settle: async (n: number) => void settled.push(n) };
};

const events = async (body: Readable): Promise<string[]> => {
  let text = '';
  for await (const chunk of body) text += String(chunk);
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''));
};

/** The prediction records the handler prints (its records lines on stdout, which the ingester reads). */
const printed: string[] = [];
const printedRecords = (): Array<Record<string, unknown>> =>
  printed
    .filter((l) => l.startsWith('{"type":"predictionRecords"'))
    .flatMap((l) => (JSON.parse(l) as { records: Array<Record<string, unknown>> }).records);
beforeEach(() => {
  printed.length = 0;
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    printed.push(String(chunk));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe('serve: an error after the stream has started', () => {
  it.each([
    [
      new DeadlineExceededError('Out of time.'),
      'server_error',
      'deadline_exceeded',
      'quote request id req-7',
      'deadline',
    ],
    [
      new ValidationError('n: too large', { param: 'n' }),
      'invalid_request_error',
      'validation_error',
      'n: too large',
      'error',
    ],
    [new Error('onnx exploded'), 'server_error', 'internal_error', 'Internal error; quote request id req-7', 'error'],
  ])('ends with an OpenAI error event typed by its status (%s)', async (error, type, code, message, outcome) => {
    const meter = spyMeter();
    const result = await serve(
      { event, context, records: () => requestRecords('completions', event.requestContext), meter },
      failingJob(error),
    );
    const sent = await events(result.body as unknown as Readable);

    expect(result.statusCode).toBe(200);
    expect(JSON.parse(sent[0]!).choices[0].text).toBe('Hi');
    expect(sent.at(-1)).toBe('[DONE]');
    const last = JSON.parse(sent.at(-2)!) as { error: Record<string, unknown> };
    expect(last.error).toMatchObject({ type, code });
    expect(last.error.message).toContain(message);
    expect(JSON.stringify(last)).not.toContain('onnx exploded');
    // The cut stream is still recorded, saying how it ended.
    expect(printedRecords().at(-1)).toMatchObject({ requestId: 'req-7', outcome });
    // Charged the one token it sent, of the 4 reserved.
    expect(meter.settled).toEqual([1]);
  });
});

describe('serve: a non-streamed request', () => {
  it('checks every prompt before generating any: a bad last prompt costs no generation', async () => {
    const ran: number[] = [];
    const job: GenerationJob = {
      ...failingJob(new Error('unused')),
      prompts: ['Hello', 'World', 'x'.repeat(10)],
      stream: false,
      validate: () => {
        throw new ValidationError('prompt: 300 tokens; the model reads at most 256', { param: 'prompt' });
      },
      run: async (_gen, _options, _onToken, p = 0) => {
        ran.push(p);
        throw new Error('generated before validating');
      },
    };

    const meter = spyMeter();
    const run = serve(
      { event, context, records: () => requestRecords('completions', event.requestContext), meter },
      job,
    );

    await expect(run).rejects.toBeInstanceOf(ValidationError);
    expect(ran).toEqual([]);
    // Nothing settled: withFairUse refunds a failed request whole.
    expect(meter.settled).toEqual([]);
  });
});
