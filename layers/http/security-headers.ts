import { normalizedResponse, onEveryAnswer } from './response.ts';
import type { ApiMiddleware } from './types.ts';

/** The browser features the HTML answers' `Permissions-Policy` turns off (@middy/http-security-headers' list). */
const DISABLED_FEATURES = [
  'accelerometer',
  'ambient-light-sensor',
  'autoplay',
  'battery',
  'camera',
  'cross-origin-isolated',
  'display-capture',
  'document-domain',
  'encrypted-media',
  'execution-while-not-rendered',
  'execution-while-out-of-viewport',
  'fullscreen',
  'geolocation',
  'gyroscope',
  'keyboard-map',
  'magnetometer',
  'microphone',
  'midi',
  'navigation-override',
  'payment',
  'picture-in-picture',
  'publickey-credentials-get',
  'screen-wake-lock',
  'sync-xhr',
  'usb',
  'web-share',
  'xr-spatial-tracking',
  'clipboard-read',
  'clipboard-write',
  'gamepad',
  'speaker-selection',
  'conversion-measurement',
  'focus-without-user-activation',
  'hid',
  'idle-detection',
  'interest-cohort',
  'serial',
  'sync-script',
  'trust-token-redemption',
  'window-placement',
  'vertical-scroll',
];

/**
 * Every answer's security headers: @middy/http-security-headers' defaults less its
 * `Reporting-Endpoints`, which it sends empty when no endpoint is configured (none is).
 * `Server` and `X-Powered-By` are set to undefined, as Middy does: whatever a route set
 * there is not sent.
 */
const ALL: Readonly<Record<string, string | undefined>> = {
  'Origin-Agent-Cluster': '?1',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains; preload',
  'X-Content-Type-Options': 'nosniff',
  'X-DNS-Prefetch-Control': 'off',
  'X-Download-Options': 'noopen',
  'X-Permitted-Cross-Domain-Policies': 'none',
  Server: undefined,
  'X-Powered-By': undefined,
};

/** What an HTML answer gets besides (Middy's `helmetHtmlOnly` defaults, its empty `Report-To` included). */
const HTML_ONLY: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; navigate-to 'none'; report-to csp; require-trusted-types-for 'script'; trusted-types 'none'; sandbox; upgrade-insecure-requests",
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': DISABLED_FEATURES.map((f) => `${f}=()`).join(', '),
  'Report-To': '',
  'X-Frame-Options': 'DENY',
  'X-XSS-Protection': '1; mode=block; report=xss',
};

/**
 * The security headers of every route's answer, the ones @middy/http-security-headers (6.x)
 * adds with the options the stack gave it (`{ reportingEndpoints: false }`), written out
 * once: Middy's middleware rebuilds each header from its options on every answer (an
 * object spread per header). The same headers in the same order, over what the route set,
 * the HTML-only ones when the content type says `text/html`;
 * test/unit/layers/http/security-headers.test.ts compares both.
 *
 * @example
 * middy(handler).use(securityHeaders());
 */
export const securityHeaders = (): ApiMiddleware =>
  onEveryAnswer((request) => {
    const { headers } = normalizedResponse(request);
    Object.assign(headers, ALL);
    const contentType = headers['Content-Type'] ?? headers['content-type'];
    if (typeof contentType === 'string' && contentType.includes('text/html')) Object.assign(headers, HTML_ONLY);
  });
