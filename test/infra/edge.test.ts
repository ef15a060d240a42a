import { afterAll, describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { startLocalApi } from '#local/server.ts';
import { COMMON_BODY_RULES } from '../../infra/lib/constructs/waf.ts';
import {
  maxRequestBodyBytes,
  STAGE_NAMES,
  STAGES,
  WAF_MAX_INSPECTED_BODY_BYTES,
  WAF_RATE_WINDOW_SECONDS,
} from '../../infra/lib/stages.ts';
import { renderTemplate } from '../helpers/vtl.ts';
import { imageFunctionEnv, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

type Rule = {
  Name: string;
  Action?: { Block?: { CustomResponse?: { ResponseCode: number; CustomResponseBodyKey: string } } };
  Statement: Record<string, Record<string, unknown>>;
};
const webAcl = (stage: (typeof STAGE_NAMES)[number]) =>
  Object.values(resourcesOf(synthStage(stage).template, 'AWS::WAFv2::WebACL'))[0]?.Properties as {
    Rules: Rule[];
    CustomResponseBodies: Record<string, { ContentType: string; Content: string }>;
  };
const rule = (stage: (typeof STAGE_NAMES)[number], name: string) =>
  webAcl(stage).Rules.find((r) => r.Name === name) as Rule;

/** The messages API Gateway may put in `$context.error.*`: JSON must survive every one. */
const NASTY_MESSAGES = [
  'Invalid request body',
  '[instance type (string) does not match any allowed primitive type (allowed: ["object"])]',
  String.raw`it's a \backslash and a "quote"`,
  'line one\nline two\ttabbed\r\n',
  'non-ASCII: é 漢字 😀 and a </script>',
];

describe.each(STAGE_NAMES)('edge of stage %s', (stage) => {
  const config = STAGES[stage];

  it(
    'WAF rate rules never block a key within its plan: per key on x-api-key and Authorization, per IP above the top plan',
    () => {
      const inPlan = config.usagePlans.map((p) => p.rateLimit * WAF_RATE_WINDOW_SECONDS + p.burstLimit);

      for (const [name, header] of [
        ['RatePerApiKey', 'x-api-key'],
        ['RatePerBearerKey', 'authorization'],
      ] as const) {
        const rate = rule(stage, name).Statement.RateBasedStatement as {
          Limit: number;
          AggregateKeyType: string;
          CustomKeys: { Header: { Name: string } }[];
          EvaluationWindowSec: number;
        };
        expect(rate.AggregateKeyType).toBe('CUSTOM_KEYS');
        expect(rate.CustomKeys.map((k) => k.Header.Name)).toEqual([header]);
        expect(rate.EvaluationWindowSec).toBe(WAF_RATE_WINDOW_SECONDS);
        for (const n of inPlan) expect(rate.Limit).toBeGreaterThanOrEqual(n);
      }
      const perIp = rule(stage, 'RatePerIp').Statement.RateBasedStatement as { Limit: number };
      expect(perIp.Limit).toBeGreaterThanOrEqual(Math.max(...inPlan));
    },
    SYNTH_TIMEOUT_MS,
  );

  it('WAF rate blocks answer 429 with a JSON body in the error envelope', () => {
    const acl = webAcl(stage);

    for (const name of ['RatePerApiKey', 'RatePerBearerKey', 'RatePerIp']) {
      const response = rule(stage, name).Action?.Block?.CustomResponse;
      expect(response?.ResponseCode).toBe(429);
      const body = acl.CustomResponseBodies[response?.CustomResponseBodyKey ?? ''];
      expect(body?.ContentType).toBe('APPLICATION_JSON');
      expect(JSON.parse(body?.Content ?? '')).toMatchObject({
        error: { code: 'rate_limited', message: expect.any(String) },
      });
    }
  });

  it('the common rule set only counts its body rules; they block only on routes whose body is not user text', () => {
    const common = rule(stage, 'AWSManagedRulesCommonRuleSet').Statement.ManagedRuleGroupStatement as {
      RuleActionOverrides: { Name: string; ActionToUse: unknown }[];
    };
    const guard = rule(stage, 'BodyRulesWithoutUserText').Statement.AndStatement as {
      Statements: [
        { OrStatement: { Statements: { LabelMatchStatement: { Key: string } }[] } },
        {
          NotStatement: {
            Statement: { OrStatement: { Statements: { ByteMatchStatement: { SearchString: string } }[] } };
          };
        },
      ];
    };

    expect(common.RuleActionOverrides).toEqual(COMMON_BODY_RULES.map((Name) => ({ Name, ActionToUse: { Count: {} } })));
    expect(guard.Statements[0].OrStatement.Statements.map((s) => s.LabelMatchStatement.Key)).toEqual(
      expect.arrayContaining([
        'awswaf:managed:aws:core-rule-set:CrossSiteScripting_Body',
        'awswaf:managed:aws:core-rule-set:GenericLFI_Body',
      ]),
    );
    const exempt = guard.Statements[1].NotStatement.Statement.OrStatement.Statements.map(
      (s) => s.ByteMatchStatement.SearchString,
    );
    // Every route with a body (predict, detect, translate, completions) carries user text.
    expect(exempt.sort()).toEqual([...new Set(ROUTES.filter((r) => r.method === 'POST').map((r) => r.path))].sort());
  });

  it(
    'one set of size numbers: no WAF size rule, the functions’ MAX_BODY_BYTES fits a full batch of the widest valid texts',
    () => {
      const limit = maxRequestBodyBytes(config.limits);
      const widest = JSON.stringify({
        texts: Array.from({ length: config.limits.maxBatchSize }, () => '\u0001'.repeat(config.limits.maxTextChars)),
        target_language: 'fra_Latn',
      });

      expect(JSON.stringify(webAcl(stage).Rules)).not.toContain('SizeConstraintStatement');
      expect(Buffer.byteLength(widest)).toBeLessThanOrEqual(limit);
      expect(limit).toBeGreaterThan(WAF_MAX_INSPECTED_BODY_BYTES);
      for (const fn of ['predict', 'detect', 'translate', 'completions'] as const) {
        expect(imageFunctionEnv(stage, fn).MAX_BODY_BYTES).toBe(String(limit));
      }
    },
    SYNTH_TIMEOUT_MS,
  );

  it('every gateway response answers the JSON envelope with CORS headers', () => {
    const responses = Object.values(resourcesOf(synthStage(stage).template, 'AWS::ApiGateway::GatewayResponse')).map(
      (r) =>
        r.Properties as {
          ResponseType: string;
          ResponseParameters?: Record<string, string>;
          ResponseTemplates: Record<string, string>;
        },
    );
    const types = responses.map((r) => r.ResponseType);

    for (const t of [
      'DEFAULT_4XX',
      'DEFAULT_5XX',
      'WAF_FILTERED',
      'BAD_REQUEST_BODY',
      'MISSING_AUTHENTICATION_TOKEN',
      'INTEGRATION_TIMEOUT',
    ]) {
      expect(types).toContain(t);
    }
    for (const r of responses) {
      expect(r.ResponseParameters?.['gatewayresponse.header.access-control-allow-origin'], r.ResponseType).toBe(
        `'${config.corsOrigins[0]}'`,
      );
      expect(r.ResponseParameters?.['gatewayresponse.header.access-control-allow-headers'], r.ResponseType).toMatch(
        /x-api-key/i,
      );
    }
  });

  it('every gateway response template renders valid JSON for any message (quotes, backslashes, newlines)', () => {
    const responses = Object.values(resourcesOf(synthStage(stage).template, 'AWS::ApiGateway::GatewayResponse')).map(
      (r) => r.Properties as { ResponseType: string; ResponseTemplates: Record<string, string> },
    );

    for (const r of responses) {
      for (const message of NASTY_MESSAGES) {
        const context = {
          requestId: 'req-1',
          error: { message, validationErrorString: message, messageString: `"${message}"` },
        };

        const body = JSON.parse(renderTemplate(r.ResponseTemplates['application/json'] ?? '', context)) as {
          error: { code: string; message: string; requestId: string };
        };

        expect(body.error.requestId, r.ResponseType).toBe('req-1');
        expect(body.error.code, r.ResponseType).toMatch(/^[a-z_]+$/);
        if (/DEFAULT_|BAD_REQUEST_BODY/.test(r.ResponseType)) expect(body.error.message.endsWith(message)).toBe(true);
      }
    }
  });
});

describe('the emulator mirrors the gateway', () => {
  const started: { close: () => Promise<void> }[] = [];
  afterAll(async () => {
    for (const s of started) await s.close();
  });

  it('answers /health itself (the MOCK integration) without loading a function, and its errors with CORS headers', async () => {
    const loaded: string[] = [];
    const api = await startLocalApi({
      port: 0,
      host: '127.0.0.1',
      apiKeys: ['k'],
      rate: 10,
      burst: 10,
      timeoutMs: 5_000,
      corsOrigins: ['https://app.example.com'],
      loadHandler: async (fn) => {
        loaded.push(fn);
        throw new Error('no function may run for this test');
      },
    });
    started.push(api);

    const health = await fetch(`${api.url}/health`);
    const missing = await fetch(`${api.url}/v1/nope`);
    const noKey = await fetch(`${api.url}/v1/status`);

    expect(health.status).toBe(200);
    expect(await health.json()).toEqual(ROUTES.find((r) => r.path === '/health')?.mock?.body);
    expect(loaded).toEqual([]);
    expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    for (const res of [health, missing, noKey]) {
      expect(res.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    }
    expect(missing.status).toBe(404);
    expect(noKey.status).toBe(401);
    expect(((await noKey.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
  });
});
