import { afterEach, describe, expect, it } from 'vitest';
import { hashApiKeyId } from '#predictions/log.ts';
import { isAdminKey, scopeOf } from '#predictions/scope.ts';
import { type Config, config, loadConfig, setConfig } from '#runtime/config.ts';

const original: Config = config();
afterEach(() => setConfig(original));

describe('analytics scope', () => {
  it('gives an admin key (by its hash) every key, and any other key its own', () => {
    setConfig(loadConfig({ ADMIN_API_KEY_HASHES: ` ${hashApiKeyId('admin-id')}, other ` }));

    expect(isAdminKey('admin-id')).toBe(true);
    expect(isAdminKey('tenant-id')).toBe(false);
    expect(isAdminKey(undefined)).toBe(false);
    expect(scopeOf('admin-id', 'all')).toEqual({ outcome: 'all' });
    expect(scopeOf('tenant-id')).toEqual({ keyHash: hashApiKeyId('tenant-id'), outcome: 'ok' });
    expect(scopeOf(undefined).keyHash).toBe('none');
  });
});
