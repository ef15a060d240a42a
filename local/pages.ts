import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { openApiDocument } from '#functions/openapi.ts';
import type { RouteDef } from '#functions/routes.ts';
import type { MetricsCollector } from './metrics.ts';

/**
 * The local developer pages, served by the emulator only (they are not API routes and
 * never reach the CDK API): the playground at `/` and `/playground`, the API docs
 * (Swagger UI) at `/docs`, the OpenAPI document at `/openapi.json`, and the metrics
 * view at `/metrics-view` with its data at `/metrics-view/data`. Every asset is a local
 * file: the pages' TypeScript bundled by esbuild on first use, the renderers' dist files
 * from node_modules. The content security policy lets a page load nothing from, and send
 * nothing to, another origin.
 */

const PAGES_DIR = path.join(import.meta.dirname, 'pages');
const require = createRequire(import.meta.url);

interface PageDef {
  /** `local/pages/<script>.html` holds its <main>, `<script>.ts` its code. */
  script: 'playground' | 'docs' | 'metrics';
  title: string;
  /** The nav entry marked current. */
  nav: string;
  /** More of <head>: the renderer's own files. */
  head?: string[];
  /** The API key field in the header. */
  keyField?: boolean;
}
const PLAYGROUND: PageDef = { script: 'playground', title: 'playground', nav: '/', keyField: true };
const PAGES: Record<string, PageDef> = {
  '/': PLAYGROUND,
  '/playground': PLAYGROUND,
  '/docs': {
    script: 'docs',
    title: 'API docs',
    nav: '/docs',
    head: [
      '<link rel="stylesheet" href="/assets/swagger-ui.css">',
      '<script src="/assets/swagger-ui-bundle.js"></script>',
    ],
  },
  '/metrics-view': {
    script: 'metrics',
    title: 'metrics',
    nav: '/metrics-view',
    head: ['<link rel="stylesheet" href="/assets/uPlot.min.css">'],
  },
};
export const PAGE_PATHS = Object.keys(PAGES);
const NAV = [
  ['/', 'Playground'],
  ['/docs', 'API docs'],
  ['/metrics-view', 'Metrics'],
] as const;
const SCRIPTS = [...new Set(Object.values(PAGES).map((p) => p.script))];

/** One page: the shared layout (head, skip link, header and nav) around the page's <main>. */
const html = async (page: PageDef): Promise<string> => {
  const [layout, main, keyField] = await Promise.all(
    ['layout.html', `${page.script}.html`, 'key-field.html'].map((f) => readFile(path.join(PAGES_DIR, f), 'utf8')),
  );
  const nav = NAV.map(
    ([href, label]) => `      <a href="${href}"${href === page.nav ? ' aria-current="page"' : ''}>${label}</a>`,
  ).join('\n');
  const parts: Record<string, string> = {
    title: page.title,
    script: page.script,
    head: (page.head ?? []).map((h) => `  ${h}`).join('\n'),
    nav,
    header: page.keyField ? keyField!.trimEnd() : '',
    main: main!.trimEnd(),
  };
  return layout!.replace(/\{\{(\w+)\}\}/g, (_, key: string) => parts[key] ?? '');
};
const FILES: Record<string, string> = {
  'style.css': path.join(PAGES_DIR, 'style.css'),
  'swagger-ui-bundle.js': require.resolve('swagger-ui-dist/swagger-ui-bundle.js'),
  'swagger-ui.css': require.resolve('swagger-ui-dist/swagger-ui.css'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

let bundles: Promise<Map<string, string>> | undefined;
/** The pages' scripts, bundled once per process (esbuild, in memory). */
const scripts = (): Promise<Map<string, string>> => {
  bundles ??= build({
    entryPoints: Object.fromEntries(SCRIPTS.map((name) => [name, path.join(PAGES_DIR, `${name}.ts`)])),
    bundle: true,
    write: false,
    outdir: '/assets',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  }).then((out) => new Map(out.outputFiles.map((f) => [path.basename(f.path), f.text])));
  bundles.catch(() => {
    bundles = undefined; // a failed build is retried on the next request
  });
  return bundles;
};

const send = (res: ServerResponse, status: number, type: string, body: string | Buffer): true => {
  res.writeHead(status, { 'content-type': type, ...SECURITY_HEADERS });
  res.end(body);
  return true;
};

/** A table's own entry for a key from a URL: `constructor` or `__proto__` find nothing, not Object's members. */
const own = <T>(table: Record<string, T>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

const asset = async (name: string): Promise<string | Buffer | undefined> => {
  const file = own(FILES, name);
  if (file) return readFile(file);
  return (await scripts()).get(name);
};

/** Query numbers with bounds: `?period=60&minutes=60`. */
const boundedNumber = (value: string | null, fallback: number, min: number, max: number): number => {
  const n = Number(value ?? fallback);
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : fallback;
};

export interface LocalPagesOptions {
  routes: readonly RouteDef[];
  metrics: MetricsCollector;
  /** The functions' metrics namespace (METRICS_NAMESPACE). */
  appNamespace: string;
}

/**
 * The emulator's `intercept` for the pages: answers GET requests for them, and returns
 * false for everything else.
 *
 * @example
 * startLocalApi({ ...options, intercept: localPages({ routes: ROUTES, metrics, appNamespace: 'HfServe' }) });
 */
export const localPages =
  (options: LocalPagesOptions) =>
  async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET') return false;
    const url = new URL(req.url ?? '/', 'http://local');
    const page = own(PAGES, url.pathname);
    if (page) return send(res, 200, TYPES['.html']!, await html(page));
    if (url.pathname === '/openapi.json') {
      const document = { ...openApiDocument(options.routes), servers: [{ url: `http://${req.headers.host}` }] };
      return send(res, 200, TYPES['.json']!, JSON.stringify(document));
    }
    if (url.pathname === '/metrics-view/data') {
      const periodSeconds = boundedNumber(url.searchParams.get('period'), 60, 1, 3600);
      const minutes = boundedNumber(url.searchParams.get('minutes'), 60, 1, 24 * 60);
      const to = Date.now() + 1;
      const view = options.metrics.view({
        routes: options.routes,
        appNamespace: options.appNamespace,
        periodSeconds,
        from: to - minutes * 60_000,
        to,
      });
      return send(res, 200, TYPES['.json']!, JSON.stringify(view));
    }
    if (url.pathname.startsWith('/assets/')) {
      const name = url.pathname.slice('/assets/'.length);
      const body = await asset(name);
      if (body === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'No such asset.');
      return send(res, 200, own(TYPES, path.extname(name)) ?? 'application/octet-stream', body);
    }
    return false;
  };
