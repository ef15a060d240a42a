import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import type { LocalStack } from '#local/stack.ts';
import { tempDir } from '../helpers/bundles.ts';
import { chromiumForTests } from '../helpers/chromium.ts';
import { post, startTestApi, TEST_KEY } from '../helpers/local-api.ts';

/**
 * The local pages in Chromium (Debian's where installed, else the one the npm package
 * @sparticuz/chromium ships: test/helpers/chromium.ts), driven by playwright-core: the docs render every
 * route, one request per capability goes through the playground (a streamed chat reply
 * growing token by token), the metrics view shows what those requests recorded, every
 * page fits a phone's width, and no page asks anything of a host outside loopback.
 * Screenshots go to test/artifacts/ (not committed).
 */

// The handlers' Powertools metrics are off in tests (vitest.config.ts); the metrics view needs them.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const ARTIFACTS = path.resolve(import.meta.dirname, '../artifacts');
const WAIT_MS = 30_000;
const TEST_TIMEOUT_MS = 90_000;
const PHONE = { width: 375, height: 812 };
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const isLoopback = (url: string): boolean => {
  const u = new URL(url);
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return true; // data:, blob:, about:
  return u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]';
};

describe('local pages in Chromium', () => {
  let api: LocalStack;
  let context: BrowserContext;
  let page: Page;
  const external: string[] = [];
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const text = async (selector: string) => (await page.locator(selector).textContent({ timeout: WAIT_MS })) ?? '';

  beforeAll(async () => {
    const browser = await chromiumForTests();
    await mkdir(ARTIFACTS, { recursive: true });
    api = await startTestApi({}, { LOCAL_EMF_ECHO: 'false' });
    context = await chromium.launchPersistentContext(await tempDir('chromium-profile'), {
      executablePath: browser.executablePath,
      env: { ...process.env, ...browser.env },
      // A set locale: under LANG=C the packaged Chromium reports "en-US@posix", which Intl (uPlot) refuses.
      locale: 'en-US',
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    // Every request leaves through here: loopback goes on, anything else is refused and recorded.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopback(url)) return route.continue();
      external.push(url);
      return route.abort('blockedbyclient');
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // The browser logs every 4xx answer; the tests ask for some on purpose and check them.
      if (
        m.type() === 'error' &&
        !m.text().startsWith('Failed to load resource: the server responded with a status of 4')
      ) {
        problems.push(`console: ${m.text()}`);
      }
    });
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    await context?.close();
    await api?.close();
  });

  it(
    'renders the OpenAPI document at /docs with one operation per route',
    async () => {
      await page.goto(`${api.url}/docs`);

      await page
        .locator('.opblock')
        .nth(ROUTES.length - 1)
        .waitFor({ timeout: WAIT_MS });
      expect(await page.locator('.opblock').count()).toBe(ROUTES.length);
      expect(await page.locator('.opblock-summary-path').allInnerTexts()).toEqual(
        expect.arrayContaining(['/v1/chat/completions', '/v1/models/{id}', '/translate']),
      );
      await shot('docs');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'draws the version badges at /docs with readable contrast (WCAG AA, 4.5:1)',
    async () => {
      await page.goto(`${api.url}/docs`);
      await page.locator('.info .title small pre').first().waitFor({ timeout: WAIT_MS });

      // Text colour against the first opaque background behind it, from the computed styles.
      const badges = await page.locator('.info .title small pre').evaluateAll((elements) => {
        // Runs in the page; this project's TypeScript has no DOM types, so the little it uses is named here.
        interface Node {
          parentElement: Node | null;
          textContent: string | null;
        }
        const nodes = elements as unknown as Node[];
        const style = (
          globalThis as unknown as { getComputedStyle: (n: Node) => { color: string; backgroundColor: string } }
        ).getComputedStyle;
        const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
        const luminance = ([r = 0, g = 0, b = 0]: number[]) => {
          const lin = (v: number) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4);
          return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
        };
        return nodes.map((node) => {
          let bg: number[] = [255, 255, 255];
          for (let el: Node | null = node; el; el = el.parentElement) {
            const c = rgb(style(el).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] === 1)) {
              bg = c.slice(0, 3);
              break;
            }
          }
          const [a, b] = [luminance(rgb(style(node).color)), luminance(bg)].sort((x, y) => y - x);
          return { text: node.textContent?.trim(), contrast: ((a ?? 0) + 0.05) / ((b ?? 0) + 0.05) };
        });
      });

      expect(badges.map((b) => b.text)).toEqual(expect.arrayContaining(['0.1.0']));
      for (const badge of badges) expect(badge.contrast, badge.text).toBeGreaterThanOrEqual(4.5);
      await page.locator('.info').screenshot({ path: path.join(ARTIFACTS, 'docs-badges.png') });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'says on the playground that the bundled models are random-weight fixtures, and how to import a real one',
    async () => {
      await page.goto(`${api.url}/`);

      const notice = page.locator('#fixtures-notice');
      await notice.waitFor({ timeout: WAIT_MS });
      expect(await notice.isVisible()).toBe(true);
      const said = (await notice.textContent()) ?? '';
      expect(said).toMatch(/random-weight test\s+fixtures/);
      expect(said).toContain('npm run models -- import');
      expect(said).toContain('MODELS_DIR=.data/registry npm start');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'translates with the languages listed by /v1/languages, once the key is entered',
    async () => {
      await page.goto(`${api.url}/`);
      await page.fill('#api-key', TEST_KEY);

      await page.locator('#tr-target option[value="fra_Latn"]').waitFor({ state: 'attached', timeout: WAIT_MS });
      expect(await page.locator('#tr-target option').count()).toBeGreaterThan(100);
      await page.selectOption('#tr-target', 'swh_Latn');
      await page.click('#translate-form button[type="submit"]');

      await page.locator('#translate-out .result').first().waitFor({ timeout: WAIT_MS });
      expect((await text('#translate-out .result')).length).toBeGreaterThan(0);
      expect(await text('#translate-out')).toContain('from eng_Latn (detected');
      expect(await text('#ex-request')).toContain('"target_language": "swh_Latn"');
      expect(await text('#ex-status')).toBe('200 OK');
      await shot('translate');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'detects languages as top-k bars, reached with the arrow keys on the tabs',
    async () => {
      await page.focus('#tab-translate');
      await page.keyboard.press('ArrowRight');

      expect(await page.getAttribute('#tab-detect', 'aria-selected')).toBe('true');
      expect(await page.isVisible('#panel-detect')).toBe(true);
      await page.fill('#de-topk', '3');
      await page.click('#detect-form button[type="submit"]');

      await page.locator('#detect-out .bar-row').nth(2).waitFor({ timeout: WAIT_MS });
      expect(await page.locator('#detect-out .bar-row').count()).toBe(3);
      expect(await text('#detect-out .bar-row >> nth=0')).toContain('French (fr)');
      await shot('detect');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'predicts with one model, two versions (A/B) and an ensemble',
    async () => {
      await page.click('#tab-predict');
      await page.click('#predict-form button[type="submit"]');
      await page.locator('#predict-out .bar-row').first().waitFor({ timeout: WAIT_MS });
      expect(await page.locator('#predict-out .bar-row').count()).toBe(2);
      expect(await text('#predict-out')).toContain('tiny-distilbert-sentiment@1');

      await page.check('#pr-mode-compare');
      expect([await page.isVisible('#pr-version-a'), await page.isVisible('#pr-model')]).toEqual([true, false]);
      await page.click('#predict-form button[type="submit"]');
      await page.getByText(/The versions (agree|disagree)\./).waitFor({ timeout: WAIT_MS });
      expect(await text('#predict-out')).toContain('B: version 2');
      expect(await text('#ex-request')).toContain('POST /v1/predict/compare');

      await page.check('#pr-mode-ensemble');
      expect([await page.isVisible('#pr-members'), await page.isVisible('#pr-version-a')]).toEqual([true, false]);
      await page.click('#predict-form button[type="submit"]');
      await page.locator('#predict-out h3', { hasText: 'Members' }).waitFor({ timeout: WAIT_MS });
      expect(await page.locator('#predict-out ul:not(.bars) li').count()).toBe(2);
      expect(await text('#ex-request')).toContain('"ensemble"');
      await shot('predict');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'streams a chat reply into the page token by token, the same text as the API answers at once',
    async () => {
      const body = {
        model: 'tiny-gpt2',
        messages: [{ role: 'user', content: 'Tell me a story' }],
        max_tokens: 12,
        temperature: 1,
        seed: 7,
      };
      const whole = await post(api, '/v1/chat/completions', body);
      const expected = (whole.body as { choices: Array<{ message: { content: string } }> }).choices[0]!.message.content;
      await page.click('#tab-chat');
      await page.locator('#ch-model option[value="tiny-gpt2"]').waitFor({ state: 'attached', timeout: WAIT_MS });
      await page.fill('#ch-max', '12');
      await page.fill('#ch-seed', '7');
      // Each text node added to the reply, and whether the reply was still streaming then.
      await page.evaluate(`
        window.__tokens = [];
        new MutationObserver((records) => {
          for (const r of records) for (const n of r.addedNodes) {
            const reply = r.target.closest && r.target.closest('.msg.assistant');
            if (reply && n.nodeType === Node.TEXT_NODE) window.__tokens.push({ text: n.data, state: reply.dataset.state });
          }
        }).observe(document.getElementById('ch-log'), { childList: true, subtree: true });
      `);

      await page.fill('#ch-input', 'Tell me a story');
      await page.press('#ch-input', 'Enter');
      await page.locator('.msg.assistant[data-state="done"]').waitFor({ timeout: WAIT_MS });

      const tokens = (await page.evaluate('window.__tokens')) as Array<{ text: string; state: string }>;
      expect(tokens.length).toBeGreaterThan(1);
      expect(tokens.every((t) => t.state === 'streaming')).toBe(true);
      expect(tokens.map((t) => t.text).join('')).toBe(expected);
      expect(await text('.msg.assistant .content')).toBe(expected);
      expect(await text('#ex-response')).toContain('data: [DONE]');
      await shot('chat');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "shows the API's error as it answered, here API Gateway's 403 for a wrong key",
    async () => {
      await page.fill('#api-key', 'not-a-key');
      await page.click('#tab-predict');
      await page.check('#pr-mode-single');
      await page.click('#predict-form button[type="submit"]');

      await page.locator('#predict-out .error').waitFor({ timeout: WAIT_MS });
      expect(await text('#predict-out .error')).toContain('403 forbidden');
      expect(await text('#predict-out .error')).toContain('Invalid API key');
      expect(await text('#ex-status')).toBe('403 Forbidden');
      await page.fill('#api-key', TEST_KEY);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'labels every form control',
    async () => {
      const unlabelled = await page.evaluate(`
        [...document.querySelectorAll('input, select, textarea')]
          .filter((e) => e.labels.length === 0 && !e.getAttribute('aria-label'))
          .map((e) => e.id)
      `);

      expect(unlabelled).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'draws the dashboard panels from what those requests recorded',
    async () => {
      await page.goto(`${api.url}/metrics-view`);
      await page.locator('#panel-api-requests table').waitFor({ timeout: WAIT_MS });
      const cell = (panel: string, series: string) =>
        text(`#panel-${panel} tr[data-metric="${series}"] td.num`).then((t) => t.trim());

      expect(Number(await cell('translate-duration', 'Duration p95'))).toBeGreaterThan(0);
      expect(Number(await cell('translate-model', 'ModelLoadMs p95'))).toBeGreaterThan(0);
      expect(Number(await cell('completions-tokens', 'TokensPerSecond p50'))).toBeGreaterThan(0);
      expect(await cell('predict-model', 'ColdStart Sum')).toBe('1');
      expect(Number(await cell('api-route-errors', 'POST /v1/predict 4XXError Sum'))).toBeGreaterThanOrEqual(1);
      expect(await page.locator('#panel-api-requests canvas').count()).toBeGreaterThan(0);
      await shot('metrics');
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'fits every page into a phone’s width',
    async () => {
      await page.setViewportSize(PHONE);
      for (const [name, pathname] of [
        ['playground', '/'],
        ['docs', '/docs'],
        ['metrics', '/metrics-view'],
      ] as const) {
        await page.goto(`${api.url}${pathname}`);
        await page.waitForLoadState('networkidle');

        const overflow = await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        );
        expect(overflow, `${pathname} scrolls sideways`).toBeLessThanOrEqual(0);
        await shot(`phone-${name}`);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it('asked nothing of any host outside loopback and logged no error', () => {
    expect(external).toEqual([]);
    expect(problems).toEqual([]);
  });
});
