import { describe, expect, it } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import {
  ImportNotAllowedError,
  importAllowed,
  parseHubId,
  registryNameOf,
  taskOfPipelineTag,
} from '#runtime/hub-id.ts';
import { NAME_PATTERN } from '#runtime/manifest.ts';

describe('Hugging Face ids', () => {
  it('splits org/name[@revision], main by default, one key per repository and revision', () => {
    expect(parseHubId('Xenova/tiny-gpt2')).toEqual({
      repo: 'Xenova/tiny-gpt2',
      revision: 'main',
      key: 'Xenova/tiny-gpt2@main',
    });
    expect(parseHubId('onnx-community/Qwen2.5-0.5B@refs/pr/1').revision).toBe('refs/pr/1');
    expect(parseHubId(`a/b@${'f'.repeat(40)}`).key).toBe(`a/b@${'f'.repeat(40)}`);
  });

  it.each([
    'tiny-gpt2',
    'a/b/c',
    'a/',
    '/b',
    'a/b c',
    'a/-b',
    'a/b.',
    `a/${'x'.repeat(97)}`,
    'a/b@',
    'a/b@..',
    'a/b@x/../y',
    `a/b@${'r'.repeat(129)}`,
  ])('refuses %j with a 400 naming the field and the form', (ref) => {
    const error = (() => {
      try {
        parseHubId(ref, 'model');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ status: 400, param: 'model', message: expect.stringContaining('org/name@revision') });
  });

  it('matches allowlist patterns within one path segment, ignoring case; an empty list allows nothing', () => {
    expect(importAllowed('Xenova/tiny-gpt2', ['Xenova/*'])).toBe(true);
    expect(importAllowed('xenova/tiny-gpt2', ['Xenova/*'])).toBe(true);
    expect(importAllowed('Xenova/tiny-gpt2', ['*/tiny-*'])).toBe(true);
    expect(importAllowed('Xenova/big-gpt2', ['*/tiny-*'])).toBe(false);
    expect(importAllowed('evil/Xenova/x', ['Xenova/*'])).toBe(false);
    expect(importAllowed('Xenovax/y', ['Xenova/*'])).toBe(false);
    expect(importAllowed('a.b/c', ['a?b/*', 'a+b/*'])).toBe(false);
    expect(importAllowed('Xenova/tiny-gpt2', [])).toBe(false);
  });

  it('says which setting allows an import, whether imports are off or the id is outside the patterns', () => {
    expect(new ImportNotAllowedError('acme/m', [], 'prod')).toMatchObject({
      status: 403,
      code: 'import_not_allowed',
      message: expect.stringMatching(/off on stage prod.*"acme\/\*".*hubImportAllow/),
    });
    expect(new ImportNotAllowedError('acme/m', ['Xenova/*'], 'dev').message).toMatch(
      /none of stage dev's import patterns/,
    );
  });

  it('publishes imports as org--name, a valid registry name', () => {
    expect(registryNameOf('Xenova/Tiny_GPT2.v1')).toBe('xenova--tiny_gpt2.v1');
    expect(NAME_PATTERN.test(registryNameOf('Xenova/Tiny_GPT2.v1'))).toBe(true);
    expect(taskOfPipelineTag('sentiment-analysis')).toBe('text-classification');
    expect(taskOfPipelineTag('image-classification')).toBeUndefined();
  });
});
