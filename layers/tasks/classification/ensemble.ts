import { AppError, ModelUnavailableError, oneOf, ValidationError } from '#runtime/errors.ts';
import type { ModelRuntime } from '#runtime/models.ts';
import type { ResolvedRef } from '#runtime/registry.ts';
import type { Classification, LabelScore } from './index.ts';
import type { PredictOutcome } from './predict.ts';

export type VotingMethod = 'soft' | 'hard';
export const VOTING_METHODS: readonly VotingMethod[] = ['soft', 'hard'];

/** One member's answer to one text, with the member's weight. */
export interface MemberVote {
  weight: number;
  scores: LabelScore[];
}

const scoreOf = (scores: LabelScore[], label: string): number => scores.find((s) => s.label === label)?.score ?? 0;

/** Highest score first; equal scores keep the label order given (the models' order). */
const ranked = (labels: readonly string[], values: number[]): LabelScore[] =>
  labels
    .map((label, i) => ({ label, score: values[i]!, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ label, score }) => ({ label, score }));

/**
 * The votes with weights divided by the largest: only the weights' ratios count, and
 * subnormal weights (5e-324) no longer underflow to 0 when multiplied by a score.
 */
const scaled = (votes: MemberVote[]): MemberVote[] => {
  const max = votes.reduce((m, v) => Math.max(m, v.weight), 0);
  return max > 0 ? votes.map((v) => ({ ...v, weight: v.weight / max })) : votes;
};

const totalWeight = (votes: MemberVote[]): number => {
  const total = votes.reduce((sum, v) => sum + v.weight, 0);
  if (votes.length === 0 || !(total > 0)) {
    throw new ValidationError('An ensemble needs at least one answering member with a weight above 0.');
  }
  return total;
};

/**
 * Weighted average of each label's probability over the members (weights normalised to
 * sum to 1 over the members that answered).
 *
 * @example
 * softVote(['NEGATIVE', 'POSITIVE'], [
 *   { weight: 1, scores: [{ label: 'POSITIVE', score: 0.8 }, { label: 'NEGATIVE', score: 0.2 }] },
 *   { weight: 1, scores: [{ label: 'NEGATIVE', score: 0.6 }, { label: 'POSITIVE', score: 0.4 }] },
 * ]); // => { label: 'POSITIVE', score: 0.6, scores: [{ label: 'POSITIVE', score: 0.6 }, { label: 'NEGATIVE', score: 0.4 }] }
 */
export const softVote = (labels: readonly string[], given: MemberVote[]): Classification => {
  const votes = scaled(given);
  const total = totalWeight(votes);
  const averages = labels.map(
    (label) => votes.reduce((sum, v) => sum + v.weight * scoreOf(v.scores, label), 0) / total,
  );
  const scores = ranked(labels, averages);
  return { label: scores[0]!.label, score: scores[0]!.score, scores };
};

/**
 * Weighted majority vote of the members' top labels. `scores` are the weighted vote
 * shares (summing to 1) and `score` is the winner's share. A tie between labels with the
 * same vote share goes to the tied label with the highest weighted average probability
 * (the soft-vote score); if that ties too, to the label that comes first in the models'
 * label order.
 *
 * @example
 * hardVote(['NEGATIVE', 'POSITIVE'], [
 *   { weight: 1, scores: [{ label: 'POSITIVE', score: 0.8 }, { label: 'NEGATIVE', score: 0.2 }] },
 *   { weight: 1, scores: [{ label: 'NEGATIVE', score: 0.6 }, { label: 'POSITIVE', score: 0.4 }] },
 * ]); // => { label: 'POSITIVE', score: 0.5, tieBroken: true, … } (1 vote each; POSITIVE averages 0.6)
 */
export const hardVote = (labels: readonly string[], given: MemberVote[]): Classification & { tieBroken: boolean } => {
  const votes = scaled(given);
  const total = totalWeight(votes);
  const shares = labels.map(
    (label) => votes.reduce((sum, v) => sum + (v.scores[0]?.label === label ? v.weight : 0), 0) / total,
  );
  const soft = softVote(labels, votes);
  const best = Math.max(...shares);
  const tied = labels.filter((_, i) => shares[i] === best);
  // softVote ranks by average probability, then label order: the first tied label in it wins.
  const label = soft.scores.find((s) => tied.includes(s.label))!.label;
  const scores = ranked(labels, shares);
  // Put the winner first among equal shares, so scores[0] is always the answer.
  scores.sort((a, b) => b.score - a.score || Number(b.label === label) - Number(a.label === label));
  return { label, score: best, scores, tieBroken: tied.length > 1 };
};

/**
 * Combines members' answers with the given method.
 *
 * @example
 * combineVotes('soft', ['NEGATIVE', 'POSITIVE'], votes).label; // => 'POSITIVE'
 */
export const combineVotes = (
  method: VotingMethod,
  labels: readonly string[],
  votes: MemberVote[],
): Classification & { tieBroken?: boolean } => (method === 'soft' ? softVote(labels, votes) : hardVote(labels, votes));

/**
 * Checks an ensemble's shape: 2..5 members, one weight per member, weights ≥ 0 and not
 * all 0. Returns the weights (all 1 when none are given).
 *
 * @example
 * ensembleWeights(['a@1', 'a@2'], undefined); // => [1, 1]
 */
export const ensembleWeights = (members: readonly string[], weights: readonly number[] | undefined): number[] => {
  if (members.length < 2 || members.length > 5) {
    throw new ValidationError(
      `ensemble.members: give 2 to 5 model references (got ${members.length}), e.g. ["tiny-distilbert-sentiment@1", "tiny-distilbert-sentiment@2"].`,
      { param: 'ensemble.members' },
    );
  }
  if (weights === undefined) return members.map(() => 1);
  if (weights.length !== members.length) {
    throw new ValidationError(
      `ensemble.weights: give one weight per member (${members.length} members, ${weights.length} weights), or leave weights out for equal weights.`,
      { param: 'ensemble.weights' },
    );
  }
  if (weights.some((w) => !Number.isFinite(w) || w < 0)) {
    throw new ValidationError('ensemble.weights: every weight must be a finite number ≥ 0.', {
      param: 'ensemble.weights',
    });
  }
  if (!weights.some((w) => w > 0)) {
    throw new ValidationError('ensemble.weights: at least one weight must be above 0.', { param: 'ensemble.weights' });
  }
  // Votes are divided by the total weight: an infinite total would make every score 0.
  if (!Number.isFinite(weights.reduce((sum, w) => sum + w, 0))) {
    throw new ValidationError('ensemble.weights: the weights must sum to a finite number; scale them down.', {
      param: 'ensemble.weights',
    });
  }
  return [...weights];
};

/** One member's outcome for every text, or why it was left out. */
export type MemberOutcome =
  | { index: number; ref: string; out: PredictOutcome }
  | { index: number; ref: string; model: { name: string; version: string }; reason: string };

export interface EnsembleOutcome {
  /** Per text: the combined answer. */
  results: Array<Classification & { tieBroken?: boolean }>;
  /** Per member, in request order. */
  members: MemberOutcome[];
  /** The members that failed, with the reason. */
  excluded: Array<{ model: { name: string; version: string }; reason: string }>;
  weights: number[];
  latencyMs: number;
}

const reasonOf = (error: unknown): string =>
  error instanceof AppError ? error.message : 'The member failed to answer; the others answered without it.';

/**
 * Resolves every member and checks they can vote together: text-classification models
 * with one label set. Unknown members and mismatches are the caller's to fix (400).
 */
const resolveMembers = async (runtime: ModelRuntime, members: readonly string[]) => {
  const resolved = await Promise.all(
    members.map((ref) => runtime.registry.resolve(ref, undefined, 'text-classification')),
  );
  // A member listed twice (or two aliases of one version) would only double its weight
  // and its prediction records: refused, so the records a request writes stay bounded.
  const seen = new Map<string, number>();
  resolved.forEach((r, i) => {
    const key = `${r.name}@${r.version}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ValidationError(
        `ensemble.members[${i}]: ${members[i]} is ${key}, as ensemble.members[${first}] is; list each model version once (use weights to count one more).`,
        { param: `ensemble.members[${i}]` },
      );
    }
    seen.set(key, i);
  });
  const labels = await Promise.all(
    resolved.map(async (r, i) => {
      const manifest = await runtime.registry.manifest(r.name, r.version);
      if (manifest && manifest.task !== 'text-classification') {
        throw new ValidationError(
          `ensemble.members[${i}]: ${r.name}@${r.version} is a ${manifest.task} model; every member must be a text-classification model.`,
          { param: `ensemble.members[${i}]` },
        );
      }
      return manifest?.labels;
    }),
  );
  const reference = labels.find((l) => l !== undefined);
  const same = (a: readonly string[], b: readonly string[]) => [...a].sort().join('\n') === [...b].sort().join('\n');
  labels.forEach((l, i) => {
    if (reference && l && !same(l, reference)) {
      throw new ValidationError(
        `ensemble.members[${i}]: ${resolved[i]!.name}@${resolved[i]!.version} has labels ${oneOf(l)}, the others ${oneOf(reference)}; every member must share one label set.`,
        { param: `ensemble.members[${i}]` },
      );
    }
  });
  return { resolved, labels: reference };
};

/**
 * An ensemble over texts: validates the members (400s), lets every member classify
 * (through `classify`, so the caller decides caching and metrics), leaves out members
 * that fail (`excluded`) and combines the rest; none with a weight above 0 answering is
 * a 503 with Retry-After.
 *
 * @example
 * const out = await predictEnsemble(runtime, { members: ['m@1', 'm@2'], method: 'soft' }, ['ok'],
 *   (ref, resolved) => predict(runtime, ref, ['ok'], { resolved }));
 * out.results[0].label; // => 'POSITIVE'
 */
export const predictEnsemble = async (
  runtime: ModelRuntime,
  spec: { members: string[]; method: VotingMethod; weights?: number[] },
  texts: string[],
  classify: (ref: string, resolved: ResolvedRef) => Promise<PredictOutcome>,
  /** The invocation's signal: no member starts after it fired, and a member it stopped is no "excluded" one. */
  signal?: AbortSignal,
): Promise<EnsembleOutcome> => {
  const started = performance.now();
  const weights = ensembleWeights(spec.members, spec.weights);
  const { resolved, labels: declared } = await resolveMembers(runtime, spec.members);
  const settled = await Promise.allSettled(
    resolved.map(async (r, i) => {
      signal?.throwIfAborted();
      return classify(spec.members[i]!, r);
    }),
  );
  // Out of time or abandoned: the whole ensemble ends, not an answer from whichever members finished.
  signal?.throwIfAborted();
  const members = settled.map((s, index): MemberOutcome => {
    const ref = spec.members[index]!;
    if (s.status === 'fulfilled') return { index, ref, out: s.value };
    const { name, version } = resolved[index]!;
    return { index, ref, model: { name, version }, reason: reasonOf(s.reason) };
  });
  const answered = members.filter((m) => 'out' in m);
  const excluded = members.flatMap((m) => ('out' in m ? [] : [{ model: m.model, reason: m.reason }]));
  if (!answered.some((m) => weights[m.index]! > 0)) {
    throw new ModelUnavailableError(
      `No ensemble member with a weight above 0 could answer (${excluded.map((e) => `${e.model.name}@${e.model.version}: ${e.reason}`).join('; ')}); retry shortly.`,
    );
  }
  const labels = declared ?? answered[0]!.out.results[0]!.scores.map((s) => s.label);
  const results = texts.map((_, t) =>
    combineVotes(
      spec.method,
      labels,
      answered.map((m) => ({ weight: weights[m.index]!, scores: m.out.results[t]!.scores })),
    ),
  );
  return { results, members, excluded, weights, latencyMs: performance.now() - started };
};
