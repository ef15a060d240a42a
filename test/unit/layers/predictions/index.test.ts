import { describe, expect, it } from 'vitest';
import { outcomeOf, requestRecords } from '#predictions/index.ts';
import { ClientClosedError, DeadlineExceededError } from '#runtime/errors.ts';

const context = { requestId: 'req-1', identity: { apiKeyId: 'key-1' } } as never;

describe('requestRecords', () => {
  it('says how the request ended and what it costs on every record: ok and the input characters by default', () => {
    const records = requestRecords('translate', context);

    const delivered = records.record('Bonjour', 0, { model: 'm', version: '1', latencyMs: 3, output: {} });
    const cut = records.record('Hello', 1, {
      model: 'm',
      version: '1',
      latencyMs: 0,
      output: {},
      outcome: 'deadline',
      billable: { characters: 5, tokens: 9 },
    });

    expect(delivered).toMatchObject({ outcome: 'ok', billable: { characters: 7 }, requestId: 'req-1', index: 0 });
    expect(cut).toMatchObject({ outcome: 'deadline', billable: { characters: 5, tokens: 9 }, index: 1 });
  });
});

describe('outcomeOf', () => {
  it('takes the reason from the aborted signal, else from the error', () => {
    const deadline = new AbortController();
    deadline.abort(new DeadlineExceededError('late'));
    const gone = new AbortController();
    gone.abort(new ClientClosedError());

    expect(outcomeOf(new Error('aborted'), deadline.signal)).toBe('deadline');
    expect(outcomeOf(new Error('aborted'), gone.signal)).toBe('client_aborted');
    expect(outcomeOf(new DeadlineExceededError('late'), undefined)).toBe('deadline');
    expect(outcomeOf(new Error('onnx exploded'), new AbortController().signal)).toBe('error');
  });
});
