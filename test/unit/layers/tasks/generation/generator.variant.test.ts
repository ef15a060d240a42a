import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { type Generator, loadGenerator } from '#tasks/generation/index.ts';
import { BUNDLE, collect, HAND, HELLO, LOAD_TIMEOUT_MS } from '../../../../helpers/tiny-gpt2.ts';

/** The generator on a variant of tiny-gpt2: no chat template, ' hand' as a second end-of-sequence id. */
describe('a bundle without a chat template, with an extra end-of-sequence token', () => {
  let dir: string;
  let variant: Generator;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tiny-gpt2-variant-'));
    await mkdir(path.join(dir, 'onnx'));
    for (const file of ['config.json', 'tokenizer.json', 'onnx/model.onnx']) {
      await copyFile(path.join(BUNDLE, file), path.join(dir, file));
    }
    const tokenizerConfig = JSON.parse(await readFile(path.join(BUNDLE, 'tokenizer_config.json'), 'utf8'));
    delete tokenizerConfig.chat_template;
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    const generationConfig = JSON.parse(await readFile(path.join(BUNDLE, 'generation_config.json'), 'utf8'));
    generationConfig.eos_token_id = [...generationConfig.eos_token_id, HAND];
    await writeFile(path.join(dir, 'generation_config.json'), JSON.stringify(generationConfig));
    variant = await loadGenerator(dir);
  }, LOAD_TIMEOUT_MS);
  afterAll(async () => {
    await variant?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses chat with a ValidationError on messages that points to /v1/completions', async () => {
    // Act
    const attempt = variant.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 3 });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({
      param: 'messages',
      status: 400,
      message: expect.stringMatching(/chat template.*\/v1\/completions/s),
    });
    expect(variant.info().hasChatTemplate).toBe(false);
  });

  it('still completes plain prompts', async () => {
    // Act
    const result = await variant.generate('Once upon a time', { temperature: 0, maxTokens: 4 });

    // Assess
    expect(result.choices[0]?.tokenIds).toHaveLength(4);
  });

  it('stops on any end-of-sequence id with finish_reason stop, counting the token but not showing it', async () => {
    // Act: greedy 'Hello, my name is' gives five 'fix' and then ' hand' (1216), now an EOS id.
    const { result, deltas } = await collect((onToken) =>
      variant.generate(HELLO.prompt, { temperature: 0, maxTokens: 20 }, onToken),
    );

    // Assess
    expect(result.choices[0]).toEqual({
      index: 0,
      text: 'fixfixfixfixfix',
      tokenIds: [956, 956, 956, 956, 956, HAND],
      finishReason: 'stop',
    });
    expect(result.completionTokens).toBe(6);
    expect(deltas.at(-1)?.finishReason).toBe('stop');
  });

  it('goes on past end-of-sequence ids with ignoreEos', async () => {
    // Act
    const result = await variant.generate(HELLO.prompt, { temperature: 0, maxTokens: 10, ignoreEos: true });

    // Assess
    expect(result.choices[0]?.tokenIds).toEqual(HELLO.new_token_ids.slice(0, 10));
    expect(result.choices[0]?.finishReason).toBe('length');
  });
});
