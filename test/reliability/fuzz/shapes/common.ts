import fc from 'fast-check';
import { hostileChar } from '../values.ts';

/**
 * What every capability's fuzz shapes are built from (test/reliability/fuzz/shapes/*): the
 * route shape type, texts a route accepts, optional fields and records without undefined keys.
 */

/** What a route's arbitrary is built from: valid bodies, queries or path parameters. */
export interface RouteShape {
  body?: fc.Arbitrary<Record<string, unknown>>;
  query?: fc.Arbitrary<Record<string, string>>;
  /** The concrete path, for routes with path parameters. */
  path?: fc.Arbitrary<string>;
  /** Form-encoded bodies are accepted too (LibreTranslate routes). */
  form?: boolean;
}

const WORDS = [
  'the',
  'file',
  'folder',
  'is',
  'great',
  'terrible',
  'I',
  'love',
  'this',
  'product',
  'bonjour',
  'le',
  'monde',
  'hallo',
  'Welt',
  'hola',
  'mundo',
  'привет',
  'мир',
  'こんにちは',
  '世界',
  'مرحبا',
  'שלום',
  '😀',
];

/**
 * Texts a route accepts, mostly short (so inference stays cheap over 1,000 cases),
 * some unicode-hostile, a few long ones up to `longMax` characters.
 */
export const text = (longMax = 5000): fc.Arbitrary<string> =>
  fc.oneof(
    {
      arbitrary: fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 12 }).map((w) => w.join(' ')),
      weight: 6,
    },
    {
      arbitrary: fc.string({ unit: hostileChar, minLength: 1, maxLength: 30 }).filter((s) => s.trim().length > 0),
      weight: 3,
    },
    {
      arbitrary: fc
        .integer({ min: Math.min(100, longMax), max: longMax })
        .map((n) => 'This is a sentence about files and folders. '.repeat(Math.ceil(n / 45)).slice(0, n)),
      weight: 1,
    },
  );
export const texts = (longMax?: number) => fc.array(text(longMax), { minLength: 1, maxLength: 6 });

/** Optional fields: present about half the time. */
export const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
/** Drops the keys whose value is undefined (JSON.stringify would too; mutations must not pick them). */
export const defined = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
export const record = (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape).map(defined);

const LANGS = ['fr', 'fra', 'fra_Latn', 'en', 'eng_Latn', 'de', 'deu_Latn', 'sw', 'swh', 'swa', 'zh', 'ar', 'ja'];
export const lang = fc.constantFrom(...LANGS);
export const strings = (shape: Record<string, fc.Arbitrary<string | undefined>>) =>
  fc.record(shape).map((o) => defined(o) as Record<string, string>);
