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
});
