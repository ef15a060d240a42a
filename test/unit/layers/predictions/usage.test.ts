import { describe, expect, it } from 'vitest';
import { InFlight, windowOf } from '#predictions/usage.ts';

describe('usage windows', () => {
  it('a window is the UTC day, ending at midnight, kept a day longer', () => {
    const w = windowOf(Date.parse('2026-03-01T23:59:30Z'));

    expect(w).toEqual({ id: '2026-03-01', endsInSeconds: 30, expiresAt: Date.parse('2026-03-03T00:00:00Z') / 1000 });
  });
});

describe('InFlight', () => {
  it('gives each key its own slots, refuses past them with Retry-After, and frees a slot once', () => {
    const slots = new InFlight(() => 1);
    const release = slots.acquire('a');

    expect(() => slots.acquire('a')).toThrow(expect.objectContaining({ status: 429, headers: { 'Retry-After': '1' } }));
    const other = slots.acquire('b');
    release();
    release();
    expect(slots.of('a')).toBe(0);
    expect(() => slots.acquire('a')).not.toThrow();
    other();
    expect(slots.of('b')).toBe(0);
  });
});
