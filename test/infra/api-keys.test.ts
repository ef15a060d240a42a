import { describe, expect, it } from 'vitest';
import { GATEWAY_RESPONSES, gatewayErrorBody } from '#functions/gateway-responses.ts';
import { ROUTES } from '#functions/routes.ts';
import { loadConfig } from '#runtime/config.ts';
import { handlerCommand } from '../../infra/lib/image.ts';
import { STAGE_NAMES, STAGES } from '../../infra/lib/stages.ts';
import { renderTemplate } from '../helpers/vtl.ts';
import { imageFunctionEnv, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

type Props = Record<string, unknown>;
const propsOf = (stage: (typeof STAGE_NAMES)[number], type: string) =>
  Object.entries(resourcesOf(synthStage(stage).template, type)).map(([id, r]) => [id, r.Properties as Props] as const);

describe.each(STAGE_NAMES)('API keys by authorizer in stage %s', (stage) => {
  it(
    'the REST API takes keys from a REQUEST authorizer with no result cache, run by functions/authorizer',
    () => {
      const [[, api]] = propsOf(stage, 'AWS::ApiGateway::RestApi') as [[string, Props]];
      const authorizers = propsOf(stage, 'AWS::ApiGateway::Authorizer');
      const functions = resourcesOf(synthStage(stage).template, 'AWS::Lambda::Function');

      expect(api.ApiKeySourceType).toBe('AUTHORIZER');
      expect(authorizers).toHaveLength(1);
      const [, authorizer] = authorizers[0]!;
      expect(authorizer).toMatchObject({ Type: 'REQUEST', AuthorizerResultTtlInSeconds: 0 });
      // TTL 0: no decision is cached, so none can serve another key (and either header may be absent).
      expect(authorizer.IdentitySource ?? '').toBe('');
      const uri = JSON.stringify(authorizer.AuthorizerUri);
      const [fnId] = Object.entries(functions).find(([id]) => uri.includes(id)) ?? [];
      expect(fnId).toBeDefined();
      expect((functions[fnId!]!.Properties as { ImageConfig: { Command: string[] } }).ImageConfig.Command).toEqual(
        handlerCommand('authorizer'),
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it('every keyed method uses the authorizer and still requires a key (metering); /health uses neither', () => {
    const [[authorizerId]] = propsOf(stage, 'AWS::ApiGateway::Authorizer') as [[string, Props]];
    const methods = propsOf(stage, 'AWS::ApiGateway::Method')
      .map(([, p]) => p)
      .filter((p) => p.HttpMethod !== 'OPTIONS');

    const keyed = methods.filter((p) => p.ApiKeyRequired === true);
    expect(keyed).toHaveLength(ROUTES.filter((r) => r.apiKeyRequired).length);
    for (const m of keyed) {
      expect(m.AuthorizationType).toBe('CUSTOM');
      expect(m.AuthorizerId).toEqual({ Ref: authorizerId });
    }
    for (const m of methods.filter((p) => p.ApiKeyRequired !== true)) {
      expect(m.AuthorizationType).toBe('NONE');
      expect(m.AuthorizerId).toBeUndefined();
    }
  });

  it('every usage plan is still attached to the API stage, with its throttle and quota', () => {
    const plans = propsOf(stage, 'AWS::ApiGateway::UsagePlan').map(([, p]) => p);
    const [[stageId]] = propsOf(stage, 'AWS::ApiGateway::Stage') as [[string, Props]];

    expect(plans.length).toBeGreaterThan(0);
    for (const p of plans) {
      expect(JSON.stringify(p.ApiStages)).toContain(stageId);
      expect(p.Throttle).toMatchObject({ RateLimit: expect.any(Number), BurstLimit: expect.any(Number) });
      expect(p.Quota).toMatchObject({ Limit: expect.any(Number) });
    }
  });

  it('LibreTranslate’s POST /translate and /detect are keyless at the gateway (the function checks the body key)', () => {
    const resources = propsOf(stage, 'AWS::ApiGateway::Resource');
    const methods = propsOf(stage, 'AWS::ApiGateway::Method').map(([, p]) => p);
    const bodyKeyed = ROUTES.filter((r) => r.bodyKey);

    expect(bodyKeyed.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /detect', 'POST /translate']);
    for (const r of bodyKeyed) {
      const [resourceId] =
        resources.find(
          ([, p]) => p.PathPart === r.path.slice(1) && JSON.stringify(p.ParentId).includes('RootResourceId'),
        ) ?? [];
      const method = methods.find(
        (m) => m.HttpMethod === r.method && JSON.stringify(m.ResourceId).includes(resourceId!),
      );
      expect(method).toMatchObject({ ApiKeyRequired: false, AuthorizationType: 'NONE' });
      expect(method?.AuthorizerId).toBeUndefined();
    }
  });

  it('the authorizer may only GET the account’s API keys and usage plans with their keys (the plan goes in its context)', () => {
    const policies = propsOf(stage, 'AWS::IAM::Policy').filter(([id]) => id.includes('KeyAuthorizer'));
    const statements = policies.flatMap(
      ([, p]) => (p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
    );
    const apigw = statements.filter((s) => JSON.stringify(s.Action).includes('apigateway'));

    expect(apigw).toHaveLength(1);
    expect(apigw[0]!.Action).toBe('apigateway:GET');
    // A pinned stage (prod) has a literal ARN (cdk.json's enablePartitionLiterals), the others a Fn::Join.
    const paths = [apigw[0]!.Resource].flat().map((r) => JSON.stringify(r).match(/::(\/[^"]*)"/)?.[1]);
    expect(paths.sort()).toEqual(['/apikeys', '/usageplans', '/usageplans/*/keys']);
    const actions = statements.flatMap((s) => [s.Action].flat());
    expect(actions.filter((a) => !a.startsWith('xray:'))).toEqual(['apigateway:GET']);
  });

  it('401, 403 and 429 answer in OpenAI’s shape on OpenAI routes, LibreTranslate’s on its routes and the envelope elsewhere, 429 with Retry-After', () => {
    const responses = propsOf(stage, 'AWS::ApiGateway::GatewayResponse').map(([, p]) => p);
    const byType = (t: string) => responses.find((r) => r.ResponseType === t) as Props;
    const openAIPath = ROUTES.find((r) => r.errorShape === 'openai')!.path;
    const librePaths = ROUTES.filter((r) => r.errorShape === 'libretranslate').map((r) => r.path);
    const cases = [
      ['UNAUTHORIZED', 'UNAUTHORIZED'],
      ['ACCESS_DENIED', 'ACCESS_DENIED'],
      ['THROTTLED', 'THROTTLED'],
      ['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED'],
    ] as const;

    for (const [responseType, type] of cases) {
      const r = byType(responseType);
      const template = (r.ResponseTemplates as Record<string, string>)['application/json']!;
      const render = (resourcePath: string) =>
        JSON.parse(renderTemplate(template, { requestId: 'req-1', resourcePath, error: { message: 'x' } }));

      expect(r.StatusCode).toBe(String(GATEWAY_RESPONSES[type].statusCode));
      expect(render(openAIPath)).toEqual(gatewayErrorBody(type, 'openai', 'req-1'));
      expect(render('/v1/predict')).toEqual(gatewayErrorBody(type, 'default', 'req-1'));
      expect(librePaths).toEqual(expect.arrayContaining(['/translate', '/detect']));
      for (const path of librePaths) {
        expect(render(path)).toEqual({ error: GATEWAY_RESPONSES[type].message });
      }
      const retry = (r.ResponseParameters as Record<string, string>)['gatewayresponse.header.retry-after'];
      expect(retry).toBe(
        type === 'THROTTLED' || type === 'QUOTA_EXCEEDED'
          ? `'${GATEWAY_RESPONSES[type].retryAfterSeconds}'`
          : undefined,
      );
    }
  });

  it('metered functions get the usage table (UpdateItem only) and the stage’s allowances; predict gets neither', () => {
    const metered = [...new Set(ROUTES.filter((r) => r.metered).map((r) => r.fn))].sort();
    const [[usageId]] = propsOf(stage, 'AWS::DynamoDB::Table').filter(([id]) => id.includes('Usage')) as [
      [string, Props],
    ];
    const updates = propsOf(stage, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (p.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement.filter((s) =>
        JSON.stringify(s.Resource).includes(usageId),
      ),
    );

    expect(metered).toEqual(['completions', 'detect', 'translate']);
    expect(updates.map((u) => u.Action)).toEqual(metered.map(() => 'dynamodb:UpdateItem'));
    for (const fn of metered) {
      expect(imageFunctionEnv(stage, fn)).toMatchObject({
        USAGE_TABLE: expect.any(String),
        CHARACTERS_PER_DAY: String(STAGES[stage].fairUse.charactersPerDay),
        TOKENS_PER_DAY: String(STAGES[stage].fairUse.tokensPerDay),
      });
      // Each tier's own allowances by its usage plan's name: what the authorizer's context names.
      const plans = JSON.parse(String(imageFunctionEnv(stage, fn).FAIR_USE_PLANS)) as Record<string, unknown>;
      const tiers = STAGES[stage].usagePlans.filter((t) => t.charactersPerDay !== undefined);
      expect(tiers.length).toBeGreaterThan(0);
      expect(plans).toEqual(
        Object.fromEntries(
          tiers.map((t) => [
            `${STAGES[stage].serviceName}-${stage}-${t.name}`,
            { charactersPerDay: t.charactersPerDay, tokensPerDay: t.tokensPerDay },
          ]),
        ),
      );
      // The functions' config accepts it as synthesised.
      expect(loadConfig({ FAIR_USE_PLANS: imageFunctionEnv(stage, fn).FAIR_USE_PLANS }).FAIR_USE_PLANS).toEqual(plans);
    }
    expect(imageFunctionEnv(stage, 'predict').USAGE_TABLE).toBeUndefined();
  });
});
