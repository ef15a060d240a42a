import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '#local/stack.ts';
import { get, post, startTestApi } from '../../../helpers/local-api.ts';

/**
 * OpenAI's routes tell a malformed model id (400, `param: "model"`) from an unknown but
 * well-formed one (404 model_not_found, as OpenAI answers).
 */
describe('completions function: model ids', () => {
  let api: LocalStack;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it.each([
    ['/v1/completions', { model: '%%%bad', prompt: 'hi' }],
    ['/v1/completions', { model: 'Tiny GPT', prompt: 'hi' }],
    ['/v1/chat/completions', { model: 'a@b@c', messages: [{ role: 'user', content: 'hi' }] }],
  ])('%s answers 400 naming `model` for the malformed id in %j', async (route, body) => {
    const res = await post(api, route, body);

    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
    expect(res.body.error?.message).toMatch(/^Invalid model reference/);
  });

  it('answers 400 for a malformed id in GET /v1/models/{id}', async () => {
    const res = await get(api, '/v1/models/%00bad');

    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ type: 'invalid_request_error', param: 'model' });
  });

  it.each([
    ['/v1/completions', { model: 'no-such-model', prompt: 'hi' }],
    ['/v1/chat/completions', { model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }],
  ])('%s keeps 404 model_not_found for an unknown, well-formed id', async (route, body) => {
    const res = await post(api, route, body);

    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', code: 'model_not_found', param: 'model' });
  });

  it('keeps 404 for an unknown, well-formed id in GET /v1/models/{id}', async () => {
    const res = await get(api, '/v1/models/no-such-model');

    expect(res.status).toBe(404);
  });
});
