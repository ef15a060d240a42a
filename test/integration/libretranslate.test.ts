import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHash, syncKeyMirror } from '#http/key-mirror.ts';
import { localKeys } from '#local/server.ts';
import type { LocalStack } from '#local/stack.ts';
import { makeDocumentClient } from '#predictions/client.ts';
import { listOf } from '#runtime/config.ts';
import { post, recordsOf, SLOW_KEY, startTestApi, TEST_API_KEYS, TEST_KEY } from '../helpers/local-api.ts';

type Encoding = 'json' | 'form' | 'multipart';
/** A recorded client request (test/fixtures/libretranslate/requests.json, each with its origin). */
interface Recorded {
  id: string;
  client: string;
  origin: string;
  method: 'GET' | 'POST';
  path: string;
  encoding?: Encoding;
  body?: Record<string, unknown>;
}
interface Fixture {
  html: Record<string, string>;
  requests: Recorded[];
}

let api: LocalStack;
let fixture: Fixture;
beforeAll(async () => {
  api = await startTestApi();
  fixture = JSON.parse(await readFile('test/fixtures/libretranslate/requests.json', 'utf8')) as Fixture;
});
afterAll(async () => api?.close());

/** The body with "KEY" as the test key and "$html.<name>" as that HTML fixture. */
const fill = (
  body: Record<string, unknown>,
  encoding: Encoding = 'json',
): { type?: string; text: string } | { form: FormData } => {
  const value = (v: unknown): unknown =>
    v === 'KEY' ? TEST_KEY : typeof v === 'string' && v.startsWith('$html.') ? fixture.html[v.slice(6)] : v;
  const filled = Object.fromEntries(
    Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.map(value) : value(v)]),
  );
  if (encoding === 'json') return { type: 'application/json', text: JSON.stringify(filled) };
  if (encoding === 'multipart') {
    // As a browser's FormData: fetch writes the multipart body and its boundary.
    const form = new FormData();
    for (const [k, v] of Object.entries(filled)) for (const item of [v].flat()) form.append(k, String(item));
    return { form };
  }
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(filled)) for (const item of [v].flat()) form.append(k, String(item));
  return { type: 'application/x-www-form-urlencoded', text: form.toString() };
};

/**
 * Sends a request in its client's encoding or the other one. `headerKey` also sends a key in
 * x-api-key (the test key unless null); the recorded clients' replays pass null: their only key
 * is the body's `api_key`, as they send it.
 */
const send = async (
  r: Pick<Recorded, 'method' | 'path' | 'body' | 'encoding'>,
  options: { encoding?: Encoding; headerKey?: string | null } = {},
) => {
  const encoding = options.encoding ?? r.encoding ?? 'json';
  const body = r.body ? fill(r.body, encoding) : undefined;
  const headerKey = options.headerKey === undefined ? TEST_KEY : options.headerKey;
  const headers = {
    ...(body && 'type' in body ? { 'content-type': body.type } : {}),
    ...(headerKey === null ? {} : { 'x-api-key': headerKey }),
  };
  if (r.method === 'GET' && body && 'text' in body) return getWithBody(r.path, headers, body.text);
  const payload = body ? { body: 'form' in body ? body.form : body.text } : {};
  const res = await fetch(`${api.url}${r.path}`, { method: r.method, headers, ...payload });
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown };
};

/** A GET with a body, as Python's urllib sends LibreTranslate-py's languages() (fetch refuses to). */
const getWithBody = (path: string, headers: Record<string, string>, text: string) =>
  new Promise<{ status: number; headers: Headers; body: unknown }>((resolve, reject) => {
    const sized = { ...headers, 'content-length': String(Buffer.byteLength(text)) };
    const req = request(`${api.url}${path}`, { method: 'GET', headers: sized }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        data += chunk;
      });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, headers: new Headers(), body: JSON.parse(data) as unknown });
        } catch (error) {
          reject(new Error(`${res.statusCode}: ${data}`, { cause: error }));
        }
      });
    });
    req.on('error', reject);
    req.end(text);
  });
const recorded = (id: string) => fixture.requests.find((r) => r.id === id)!;

/** The markup of an HTML string: every tag with its attributes, without the text between tags (script bodies checked apart). */
const markup = (html: string) => html.replace(/>[^<]*</g, '><');

describe('LibreTranslate clients, replayed as recorded', () => {
  it('Mastodon: status HTML, source auto, JSON: every tag, attribute, link, mention and hashtag kept', async () => {
    const r = recorded('mastodon-translate');
    const html = fixture.html.mastodonStatus!;

    // As Mastodon sends it: the key only in the body's api_key, no header.
    const res = await send(r, { headerKey: null });

    expect(res.status).toBe(200);
    const body = res.body as { translatedText: string; detectedLanguage: { language: string; confidence: number } };
    expect(Object.keys(body).sort()).toEqual(['detectedLanguage', 'translatedText']);
    expect(body.detectedLanguage).toEqual({ language: 'en', confidence: expect.any(Number) });
    expect(body.detectedLanguage.confidence).toBeGreaterThan(50);
    expect(body.detectedLanguage.confidence).toBeLessThanOrEqual(100);
    const out = body.translatedText;
    expect(markup(out)).toBe(markup(html));
    for (const kept of [
      '<span class="h-card" translate="no"><a href="https://mastodon.social/@Gargron" class="u-url mention">@<span>Gargron</span></a></span>',
      '<span class="invisible">https://</span><span class="ellipsis">blog.joinmastodon.org/2024/01/</span><span class="invisible">release?utm_source=mastodon&amp;lang=en</span></a></p>',
      '<a href="https://mastodon.social/tags/opensource" class="mention hashtag" rel="tag">#<span>opensource</span></a></p>',
      '<br>',
    ]) {
      expect(out).toContain(kept);
    }
    expect(out).not.toContain('Good morning');
    expect(out).not.toContain('Thanks to everyone who helped!');
  });

  it('Mastodon: each text node is what format "text" gives for it, escaped in place', async () => {
    const text = 'Thanks to everyone who helped!';
    const plain = await send({ method: 'POST', path: '/translate', body: { q: text, source: 'en', target: 'fr' } });
    const translated = (plain.body as { translatedText: string }).translatedText;
    const escaped = translated.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

    const res = await send({
      method: 'POST',
      path: '/translate',
      body: {
        q: `<p class="x">${text}<br><a href="https://a.example/?q=1&amp;r=2">#tag</a></p>`,
        source: 'en',
        target: 'fr',
        format: 'html',
        api_key: 'KEY',
      },
    });

    expect(res.status).toBe(200);
    expect((res.body as { translatedText: string }).translatedText).toBe(
      `<p class="x">${escaped}<br><a href="https://a.example/?q=1&amp;r=2">#tag</a></p>`,
    );
  });

  it('HTML with a script, event attributes and escaped markup comes back no more dangerous', async () => {
    const html = fixture.html.hostile!;

    for (const encoding of ['json', 'form'] as const) {
      const res = await send(
        { method: 'POST', path: '/translate', body: { q: html, source: 'en', target: 'fr', format: 'html' } },
        { encoding },
      );

      expect(res.status).toBe(200);
      const out = (res.body as { translatedText: string }).translatedText;
      expect(markup(out)).toBe(markup(html));
      expect(out.match(/<script/g)).toHaveLength(1);
      expect(out).toContain('<script>alert(3)</script><style>p { color: red }</style>');
      expect(out.match(/<[a-z]/g)).toEqual(html.match(/<[a-z]/g));
      expect(out).not.toContain('<script>alert(2)');
    }
  });

  it('LibreTranslate-py: translate and detect form-encoded, languages as a GET with a form body', async () => {
    const translated = await send(recorded('libretranslate-py-translate'), { headerKey: null });
    const asJson = await send(recorded('libretranslate-py-translate'), { encoding: 'json', headerKey: null });
    const detected = await send(recorded('libretranslate-py-detect'), { headerKey: null });
    const languages = await send(recorded('libretranslate-py-languages'), { headerKey: null });

    expect(translated.status).toBe(200);
    expect(translated.body).toEqual({ translatedText: expect.any(String) });
    expect(asJson.body).toEqual(translated.body);
    expect(detected.status).toBe(200);
    const list = detected.body as Array<{ language: string; confidence: number }>;
    expect(list[0]).toEqual({ language: 'es', confidence: expect.any(Number) });
    expect(languages.status).toBe(200);
    expect((languages.body as unknown[]).length).toBe(202);
  });

  it('the web frontend and extensions: /frontend/settings and /languages answer without a key', async () => {
    const settings = await send(recorded('frontend-settings'), { headerKey: null });
    const languages = await send(recorded('frontend-languages'), { headerKey: null });

    expect(settings.status).toBe(200);
    expect(settings.body).toEqual({
      charLimit: 5000,
      frontendTimeout: 500,
      apiKeys: true,
      keyRequired: true,
      suggestions: false,
      filesTranslation: false,
      supportedFilesFormat: [],
      language: { source: { code: 'auto', name: 'Auto Detect' }, target: { code: 'en', name: 'English' } },
    });
    const list = languages.body as Array<{ code: string; name: string; targets: string[] }>;
    expect(languages.status).toBe(200);
    expect(list.every((l) => Object.keys(l).sort().join() === 'code,name,targets')).toBe(true);
    expect(list).toContainEqual({ code: 'fr', name: 'French', targets: expect.arrayContaining(['en', 'sw', 'de']) });
    expect(new Set(list.map((l) => l.code)).size).toBe(list.length);
    // ISO 639-1 where the language has one: every 2-letter code the table knows, FLORES-200 otherwise.
    expect(list.find((l) => l.name === 'Swahili')?.code).toBe('sw');
  });

  it('the web frontend: translate as its FormData (multipart), the key in it, source auto', async () => {
    const r = recorded('frontend-translate');
    const asMultipart = await send(r, { headerKey: null });
    const asJson = await send(r, { encoding: 'json', headerKey: null });
    const keyless = await send({ ...r, body: { ...r.body, api_key: '' } }, { headerKey: null });
    const wrongKey = await send({ ...r, body: { ...r.body, api_key: 'not-a-key' } }, { headerKey: null });

    expect(asMultipart.status).toBe(200);
    expect(asMultipart.body).toEqual({
      translatedText: expect.any(String),
      detectedLanguage: { language: 'en', confidence: expect.any(Number) },
    });
    expect(asMultipart.body).toEqual(asJson.body);
    // What app.js shows the user: res.error, in LibreTranslate's shape.
    expect(keyless.status).toBe(401);
    expect(keyless.body).toEqual({ error: expect.stringMatching(/api_key/) });
    expect(wrongKey.status).toBe(403);
    expect(wrongKey.body).toEqual({ error: expect.any(String) });
  });

  it('multipart: a file part or a broken body is a 400 saying what to send, never a 5xx', async () => {
    const file = new FormData();
    file.append('q', 'Hello');
    file.append('target', 'de');
    file.append('file', new Blob(['Hello']), 'hello.txt');
    const withFile = await fetch(`${api.url}/translate`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_KEY },
      body: file,
    });
    const broken = await fetch(`${api.url}/translate`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_KEY, 'content-type': 'multipart/form-data; boundary=abc' },
      body: '--xyz\r\nnot a part',
    });
    const xml = await fetch(`${api.url}/translate`, {
      method: 'POST',
      headers: { 'x-api-key': TEST_KEY, 'content-type': 'application/xml' },
      body: '<q>Hello</q>',
    });

    expect(withFile.status).toBe(400);
    expect(await withFile.json()).toEqual({ error: expect.stringMatching(/^Field "file" is a file/) });
    expect(broken.status).toBe(400);
    expect(await broken.json()).toEqual({ error: expect.stringMatching(/^Malformed multipart\/form-data body/) });
    expect(xml.status).toBe(415);
    expect(await xml.json()).toEqual({ error: expect.stringMatching(/multipart\/form-data/) });
  });

  it('a browser extension: q as a list, source auto, alternatives, JSON and form, the same answer', async () => {
    const r = recorded('extension-translate');
    const asJson = await send(r, { headerKey: null });
    const asForm = await send(r, { encoding: 'form', headerKey: null });

    expect(asJson.status).toBe(200);
    const body = asJson.body as {
      translatedText: string[];
      detectedLanguage: Array<{ language: string; confidence: number }>;
      alternatives: string[][];
    };
    expect(Object.keys(body).sort()).toEqual(['alternatives', 'detectedLanguage', 'translatedText']);
    expect(body.translatedText).toHaveLength(2);
    expect(body.detectedLanguage).toEqual([
      { language: 'en', confidence: expect.any(Number) },
      { language: 'en', confidence: expect.any(Number) },
    ]);
    expect(asForm.body).toEqual(asJson.body);
    body.alternatives.forEach((alternatives, i) => {
      expect(alternatives.length).toBeGreaterThan(0);
      expect(alternatives.length).toBeLessThanOrEqual(3);
      expect(alternatives.every((a) => typeof a === 'string' && a !== body.translatedText[i])).toBe(true);
    });
    // In order: each item is its own translation, alternatives and all.
    const second = await send({
      method: 'POST',
      path: '/translate',
      body: { q: 'The weather is very nice.', source: 'en', target: 'de', alternatives: 3 },
    });
    expect(second.body).toEqual({ translatedText: body.translatedText[1], alternatives: body.alternatives[1] });
  });

  it('alternatives: none for HTML (as LibreTranslate) or a text of several sentences, no field when 0', async () => {
    const html = await send({
      method: 'POST',
      path: '/translate',
      body: { q: '<p>Good morning</p>', source: 'en', target: 'fr', format: 'html', alternatives: 2 },
    });
    const sentences = await send({
      method: 'POST',
      path: '/translate',
      body: { q: ['Good morning. See you soon.'], source: 'en', target: 'fr', alternatives: 2 },
    });
    const none = await send({
      method: 'POST',
      path: '/translate',
      body: { q: 'Good morning', source: 'en', target: 'fr', alternatives: 0 },
    });

    expect(html.body).toEqual({ translatedText: expect.stringMatching(/^<p>.*<\/p>$/), alternatives: [] });
    expect(sentences.body).toEqual({ translatedText: [expect.any(String)], alternatives: [[]] });
    expect(none.body).toEqual({ translatedText: expect.any(String) });
  });

  it('never answers one format or alternatives request from the result cache of another', async () => {
    const q = 'Tom <b>likes</b> cats.';
    const ask = (extra: Record<string, unknown>) =>
      send({ method: 'POST', path: '/translate', body: { q, source: 'en', target: 'fr', ...extra } });

    const text = (await ask({})).body as { translatedText: string };
    const html = (await ask({ format: 'html' })).body as { translatedText: string };
    const again = (await ask({})).body as { translatedText: string };
    const withAlternatives = (await ask({ alternatives: 2 })).body as { alternatives: string[] };

    expect(html.translatedText).toMatch(/^\S.* <b>.+<\/b> .+$/);
    expect(html.translatedText).not.toBe(text.translatedText);
    expect(again).toEqual(text);
    expect(withAlternatives.alternatives.length).toBeGreaterThan(0);
  });

  it('keeps one prediction record per q item, HTML included', async () => {
    const res = await fetch(`${api.url}/translate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': TEST_KEY },
      body: JSON.stringify({
        q: ['<p>Good <b>morning</b></p>', '<p>See you soon.</p>'],
        source: 'en',
        target: 'fr',
        format: 'html',
      }),
    });
    await res.json();

    const records = await recordsOf(api, res.headers.get('x-request-id')!);
    expect(records).toHaveLength(2);
    expect(records[0]).toMatchObject({ capability: 'translate', inputLength: '<p>Good <b>morning</b></p>'.length });
  });
});

describe('LibreTranslate errors: {"error": "…"} with its status, never a 5xx for bad input', () => {
  const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
    ['missing q', '/translate', { source: 'en', target: 'fr' }, /^q: /],
    ['missing target', '/translate', { q: 'Hi', source: 'en' }, /^target: /],
    [
      'unknown target',
      '/translate',
      { q: 'Hi', source: 'en', target: 'zz' },
      /^target: Unsupported language code "zz"\..* GET \/languages lists all 202 supported languages\.$/,
    ],
    [
      'unknown format',
      '/translate',
      { q: 'Hi', source: 'en', target: 'fr', format: 'xml' },
      /^format: must be "text" or "html"/,
    ],
    ['alternatives not a number', '/translate', { q: 'Hi', target: 'fr', alternatives: 'many' }, /^alternatives: /],
    [
      'too many alternatives',
      '/translate',
      { q: 'Hi', target: 'fr', alternatives: 9 },
      /^alternatives: must be at most 3/,
    ],
    ['api_key not a string', '/translate', { q: 'Hi', target: 'fr', api_key: 5 }, /^api_key: must be a string/],
    ['detect without q', '/detect', {}, /^q: /],
  ];

  it.each(cases)('%s', async (_name, path, body, message) => {
    const res = await post(api, path, body);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: expect.stringMatching(message) });
  });

  it('answers malformed JSON and an empty form the same way', async () => {
    const bad = await post(api, '/translate', '{"q": ');
    const empty = await send({ method: 'POST', path: '/translate', body: {} }, { encoding: 'form' });

    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: expect.stringMatching(/^Malformed JSON body/) });
    expect(empty.status).toBe(400);
    expect(empty.body).toEqual({ error: expect.stringMatching(/^q: /) });
  });

  it("401/403 for a missing or wrong key and 429 past the key's rate, in LibreTranslate's shape from the gateway too", async () => {
    const body = { q: 'Hi', target: 'fr' };
    const none = await send({ method: 'POST', path: '/translate', body }, { headerKey: null });
    const wrong = await send({ method: 'POST', path: '/translate', body }, { headerKey: 'not-a-key' });
    const limited: Array<{ status: number; body: unknown }> = [];
    for (let i = 0; i < 4; i++) {
      limited.push(
        await send({ method: 'POST', path: '/detect', body: { q: 'Bonjour à tous' } }, { headerKey: SLOW_KEY }),
      );
    }

    expect([none.status, wrong.status]).toEqual([401, 403]);
    expect(none.body).toEqual({ error: expect.stringMatching(/key/i) });
    expect(wrong.body).toEqual({ error: expect.stringMatching(/key/i) });
    const tooMany = limited.find((r) => r.status === 429);
    expect(tooMany?.body).toEqual({ error: expect.stringMatching(/\w{3}/) });
  });

  it('checks body keys against the key mirror the emulator filled at start: hashes only, and what a sync adds works', async () => {
    const tables = makeDocumentClient(api.config);
    const mirrored = (await tables.send(new ScanCommand({ TableName: api.config.API_KEYS_TABLE }))).Items ?? [];
    // What the key-sync function would write with two more keys in API Gateway: one enabled, one disabled.
    const plan = { rate: 1000, burst: 1000 };
    const synced = new Map([
      ...localKeys(listOf(TEST_API_KEYS), 0, 0),
      ['synced-key', { id: 'synced', enabled: true, plan }],
      ['synced-off', { id: 'synced-off', enabled: false, plan }],
    ]);
    const result = await syncKeyMirror(tables, api.config.API_KEYS_TABLE, synced);
    const detect = (key: string) =>
      send({ method: 'POST', path: '/detect', body: { q: 'Bonjour', api_key: key } }, { headerKey: null });
    const [added, off] = [await detect('synced-key'), await detect('synced-off')];

    expect(result).toEqual({ added: 2, changed: 0, removed: 0, unchanged: 2 });
    expect(mirrored.map((i) => i.keyHash).sort()).toEqual([keyHash(TEST_KEY), keyHash(SLOW_KEY)].sort());
    expect(JSON.stringify(mirrored)).not.toContain(TEST_KEY);
    expect(added.status).toBe(200);
    expect(off.status).toBe(403);
  });
});
