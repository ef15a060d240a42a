import { timingSafeEqual } from 'node:crypto';
import { config } from '#runtime/config.ts';
import { hashApiKeyId } from './log.ts';

/**
 * Whose activity a caller may see (issue 23.4): its own key's records, or, for an admin
 * key of the stage (ADMIN_API_KEY_HASHES), every key's. Only delivered answers
 * (`outcome: ok`) count unless the caller asks for `all`.
 */
export interface Scope {
  /** The caller's key as records hold it (hashApiKeyId); undefined: every key (admin). */
  keyHash?: string;
  outcome: 'ok' | 'all';
}

const same = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Whether an API key id is one of the stage's admin keys: its hash against the configured
 * hashes, compared in constant time (the configuration holds hashes, never key ids).
 *
 * @example
 * isAdminKey('abc123'); // => false unless ADMIN_API_KEY_HASHES lists hashApiKeyId('abc123')
 */
export const isAdminKey = (apiKeyId: string | null | undefined): boolean => {
  const hash = hashApiKeyId(apiKeyId);
  if (!hash) return false;
  return config()
    .ADMIN_API_KEY_HASHES.split(',')
    .map((h) => h.trim())
    .filter(Boolean)
    .some((h) => same(h, hash));
};

/**
 * The scope of a caller's analytics: its own key, or every key for an admin key.
 *
 * @example
 * scopeOf('key-id', 'ok'); // => { keyHash: '…16 hex…', outcome: 'ok' }
 */
export const scopeOf = (apiKeyId: string | null | undefined, outcome: 'ok' | 'all' = 'ok'): Scope =>
  isAdminKey(apiKeyId) ? { outcome } : { keyHash: hashApiKeyId(apiKeyId) ?? 'none', outcome };
