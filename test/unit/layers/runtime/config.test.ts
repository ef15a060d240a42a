import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '#runtime/config.ts';
import { ConfigurationError } from '#runtime/errors.ts';

describe('loadConfig', () => {
  it.each([
    ['WARNING', 'WARN'],
    ['warning', 'WARN'],
    ['Warn', 'WARN'],
    ['info', 'INFO'],
    ['trace', 'TRACE'],
    ['CRITICAL', 'CRITICAL'],
    ['fatal', 'CRITICAL'],
    ['off', 'SILENT'],
    [' error ', 'ERROR'],
  ])('takes LOG_LEVEL=%j as Powertools level %s', (given, level) => {
    expect(loadConfig({ LOG_LEVEL: given }).LOG_LEVEL).toBe(level);
  });

  it('refuses an unknown LOG_LEVEL with the valid spellings listed', () => {
    const parse = () => loadConfig({ LOG_LEVEL: 'loud' });

    expect(parse).toThrow(ConfigurationError);
    expect(parse).toThrow(
      /LOG_LEVEL: must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, WARNING, FATAL/,
    );
  });

  it('resolves relative model paths against the working directory, and keeps absolute ones', () => {
    const c = loadConfig({ MODELS_DIR: 'bundles', MODEL_CACHE_DIR: '/mnt/models' }, '/srv/app');

    expect(c.MODELS_DIR).toBe('/srv/app/bundles');
    expect(c.MODEL_CACHE_DIR).toBe('/mnt/models');
  });

  it('takes the defaults from the current directory, not from where the module file is', () => {
    const c = loadConfig({});

    expect(c.MODELS_DIR).toBe(path.join(process.cwd(), 'test/fixtures/models'));
    expect(c.MODEL_CACHE_DIR).toBe(path.join(process.cwd(), '.data/models'));
  });

  it('sizes the body limit by default to a full batch of the widest valid texts, as every stage does', () => {
    const c = loadConfig({ MAX_TEXT_CHARS: '100', MAX_BATCH_SIZE: '3' });
    // Every text a control character escaped as \u001f: the widest a character gets in JSON.
    const widest = JSON.stringify({ texts: Array.from({ length: 3 }, () => '\u001f'.repeat(100)) });

    expect(c.MAX_BODY_BYTES).toBe(3 * 100 * 6 + 65_536);
    expect(Buffer.byteLength(widest)).toBeLessThanOrEqual(c.MAX_BODY_BYTES);
    expect(loadConfig({ MAX_BODY_BYTES: '4096' }).MAX_BODY_BYTES).toBe(4096);
  });
});

describe('FAIR_USE_PLANS', () => {
  it('reads per-plan allowances as JSON by plan name; none by default', () => {
    const c = loadConfig({ FAIR_USE_PLANS: '{"hf-serve-dev-free":{"charactersPerDay":200,"tokensPerDay":0}}' });

    expect(loadConfig({}).FAIR_USE_PLANS).toEqual({});
    expect(c.FAIR_USE_PLANS).toEqual({ 'hf-serve-dev-free': { charactersPerDay: 200, tokensPerDay: 0 } });
  });

  it.each([
    ['not JSON', '{free:1}', /FAIR_USE_PLANS: must be JSON/],
    ['a negative allowance', '{"free":{"tokensPerDay":-1}}', /FAIR_USE_PLANS\.free\.tokensPerDay/],
    ['an unknown field (a typo)', '{"free":{"tokenPerDay":5}}', /FAIR_USE_PLANS\.free: Unrecognized key/],
    ['a list', '[{"tokensPerDay":5}]', /FAIR_USE_PLANS: .*record/],
    [
      'too many plans',
      JSON.stringify(Object.fromEntries(Array.from({ length: 301 }, (_, i) => [`p${i}`, {}]))),
      /at most 300 plans/,
    ],
  ])('fails fast on %s, naming the variable', (_, value, message) => {
    expect(() => loadConfig({ FAIR_USE_PLANS: value })).toThrow(message);
  });
});
