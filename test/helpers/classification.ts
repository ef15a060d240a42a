import type { Classification } from '#tasks/classification/index.ts';

/** A two-label classification answer: `label` with `score`, the other label with the rest. */
export const answer = (label: string, score: number): Classification => ({
  label,
  score,
  scores: [
    { label, score },
    { label: label === 'POSITIVE' ? 'NEGATIVE' : 'POSITIVE', score: 1 - score },
  ],
});
