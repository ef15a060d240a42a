import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  CORS_PREFLIGHT,
  DEFAULT_GATEWAY_RESPONSES,
  defaultGatewayResponseTemplate,
  GATEWAY_RESPONSES,
  type GatewayResponseType,
  gatewayCorsHeaders,
  gatewayResponseTemplate,
  retryAfterOf,
} from '#functions/gateway-responses.ts';
import type { Capability, RouteDef } from '#functions/routes.ts';
import { API_GATEWAY_MAX_TIMEOUT_SECONDS, type StageConfig, usagePlanName } from '../stages.ts';
import type { InferenceFunction } from './inference-function.ts';

export interface ApiProps {
  readonly config: StageConfig;
  /** The route table (`ROUTES` in the app; tests pass their own to cover route kinds not yet in it). */
  readonly routes: readonly RouteDef[];
  /** The function serving each capability that has routes. */
  readonly functions: ReadonlyMap<Capability, InferenceFunction>;
  /** The REQUEST authorizer's function (`functions/authorizer/`): the key from `x-api-key` or `Authorization: Bearer`. */
  readonly authorizer: lambda.IFunction;
}

/** The gateway's own errors, mapped to API Gateway's response types. */
const GATEWAY_RESPONSE_TYPES: Record<GatewayResponseType, apigw.ResponseType> = {
  // The authorizer threw `Unauthorized` (no key) or returned Deny (a wrong key).
  UNAUTHORIZED: apigw.ResponseType.UNAUTHORIZED,
  ACCESS_DENIED: apigw.ResponseType.ACCESS_DENIED,
  API_KEY_INVALID: apigw.ResponseType.INVALID_API_KEY,
  THROTTLED: apigw.ResponseType.THROTTLED,
  QUOTA_EXCEEDED: apigw.ResponseType.QUOTA_EXCEEDED,
  REQUEST_TOO_LARGE: apigw.ResponseType.REQUEST_TOO_LARGE,
  // API Gateway answers an unknown path with "Missing Authentication Token" (403).
  NOT_FOUND: apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
  WAF_FILTERED: apigw.ResponseType.WAF_FILTERED,
  INTEGRATION_TIMEOUT: apigw.ResponseType.INTEGRATION_TIMEOUT,
  BAD_REQUEST_BODY: apigw.ResponseType.BAD_REQUEST_BODY,
};

/** A gateway response's headers: quoted literals, and the request id from the context (as the functions send it). */
const quotedHeaders = (headers: Record<string, string>): Record<string, string> => ({
  ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, `'${v}'`])),
  'x-request-id': 'context.requestId',
});

/** The MOCK integration answering a route with a fixed JSON body (the health check): no function runs. */
const mockIntegration = (body: Record<string, unknown>, cors: Record<string, string>) =>
  new apigw.MockIntegration({
    requestTemplates: { 'application/json': '{"statusCode": 200}' },
    passthroughBehavior: apigw.PassthroughBehavior.NEVER,
    integrationResponses: [
      {
        statusCode: '200',
        responseTemplates: { 'application/json': JSON.stringify(body) },
        responseParameters: {
          ...Object.fromEntries(
            Object.entries({ ...cors, 'cache-control': 'no-store' }).map(([k, v]) => [
              `method.response.header.${k}`,
              `'${v}'`,
            ]),
          ),
          // Every answer carries the request id to quote, as the functions' do.
          'method.response.header.x-request-id': 'context.requestId',
        },
      },
    ],
  });

/**
 * The REST API, generated from the route table the local emulator also serves: one
 * method per route, API key required unless the route says otherwise (`/health`),
 * a usage plan per tier, a JSON-object check on request bodies, access logs, and the
 * response-streaming integration (`/response-streaming-invocations`) for streaming
 * routes. Buffered integrations time out 1 s after the function, below API Gateway's
 * 29 s, so the function's own 504 reaches the caller first.
 *
 * @example
 * new Api(this, 'Api', { config, routes: ROUTES, functions });
 */
export class Api extends Construct {
  readonly restApi: apigw.RestApi;
  readonly usagePlans: Map<string, apigw.UsagePlan> = new Map();
  readonly accessLogs: logs.LogGroup;
  readonly authorizer: apigw.RequestAuthorizer;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const { config, routes, functions } = props;

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: `${config.serviceName}-${config.stage}`,
      description: `${config.serviceName} inference API (${config.stage})`,
      // The key comes from the authorizer's `usageIdentifierKey`, so Bearer keys are metered too.
      apiKeySourceType: apigw.ApiKeySourceType.AUTHORIZER,
      // Regional: WAF attaches to it directly, and a streamed response may idle 5 min (30 s on edge).
      endpointTypes: [apigw.EndpointType.REGIONAL],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: config.stage,
        accessLogDestination: new apigw.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        tracingEnabled: true,
      },
      // The emulator answers preflights from the same settings (preflightHeaders).
      defaultCorsPreflightOptions: {
        allowOrigins: [...config.corsOrigins],
        allowMethods: [...CORS_PREFLIGHT.allowMethods],
        allowHeaders: [...CORS_PREFLIGHT.allowHeaders],
        maxAge: Duration.seconds(CORS_PREFLIGHT.maxAgeSeconds),
      },
    });

    // No result cache (TTL 0): API Gateway keys a REQUEST authorizer's cache by its identity
    // sources and answers 401 without calling it when one is missing, so caching by both
    // headers would refuse clients that send only one, and caching by one header would let a
    // decision made for one key serve a request whose key is in the other header. The
    // function caches the key listing instead, looked up by each request's own key.
    this.authorizer = new apigw.RequestAuthorizer(this, 'KeyAuthorizer', {
      handler: props.authorizer,
      identitySources: [],
      resultsCacheTtl: Duration.seconds(0),
    });
    const keyed = (route: RouteDef): apigw.MethodOptions =>
      route.apiKeyRequired
        ? { apiKeyRequired: true, authorizer: this.authorizer, authorizationType: apigw.AuthorizationType.CUSTOM }
        : { apiKeyRequired: false };

    const validator = this.restApi.addRequestValidator('BodyValidator', {
      requestValidatorName: 'json-object-body',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    // The handlers validate each field (with messages that say how to fix them); the
    // gateway only turns away what is not a JSON object before it costs an invocation.
    const jsonObject = this.restApi.addModel('JsonObject', {
      contentType: 'application/json',
      modelName: 'JsonObject',
      schema: { schema: apigw.JsonSchemaVersion.DRAFT4, type: apigw.JsonSchemaType.OBJECT },
    });

    const integrations = new Map<string, apigw.LambdaIntegration>();
    const integrationFor = (route: RouteDef): apigw.LambdaIntegration => {
      const fn = functions.get(route.fn);
      if (!fn) throw new Error(`Route ${route.method} ${route.path} needs a function for ${route.fn}; none was given.`);
      const key = `${route.fn}:${route.streaming ? 'stream' : 'buffered'}`;
      const timeout = fn.settings.timeoutSeconds + 1;
      if (!route.streaming && timeout >= API_GATEWAY_MAX_TIMEOUT_SECONDS) {
        throw new Error(
          `${route.fn}: timeoutSeconds ${fn.settings.timeoutSeconds} is too long for a buffered API Gateway integration; use at most ${API_GATEWAY_MAX_TIMEOUT_SECONDS - 2}.`,
        );
      }
      let integration = integrations.get(key);
      if (!integration) {
        integration = new apigw.LambdaIntegration(fn.alias, {
          proxy: true,
          timeout: Duration.seconds(timeout),
          responseTransferMode: route.streaming
            ? apigw.ResponseTransferMode.STREAM
            : apigw.ResponseTransferMode.BUFFERED,
          // One permission per function instead of two per method: the policy stays small as routes grow.
          scopePermissionToMethod: false,
        });
        integrations.set(key, integration);
      }
      return integration;
    };

    const cors = gatewayCorsHeaders(config.corsOrigins);
    for (const route of routes) {
      const resource = this.restApi.root.resourceForPath(route.path);
      if (route.mock) {
        resource.addMethod(route.method, mockIntegration(route.mock.body, cors), {
          ...keyed(route),
          operationName: `${route.method} ${route.path}`,
          methodResponses: [
            {
              statusCode: '200',
              responseParameters: Object.fromEntries(
                [...Object.keys(cors), 'cache-control', 'x-request-id'].map((k) => [
                  `method.response.header.${k}`,
                  true,
                ]),
              ),
            },
          ],
        });
        continue;
      }
      const hasBody = route.method === 'POST';
      resource.addMethod(route.method, integrationFor(route), {
        ...keyed(route),
        requestValidator: hasBody ? validator : undefined,
        requestModels: hasBody ? { 'application/json': jsonObject } : undefined,
        operationName: `${route.method} ${route.path}`,
      });
    }

    // Gateway responses are per API: the template picks OpenAI's or LibreTranslate's shape by resource path.
    const openAIResources = routes.filter((r) => r.errorShape === 'openai').map((r) => r.path);
    const libreResources = routes.filter((r) => r.errorShape === 'libretranslate').map((r) => r.path);
    for (const [type, responseType] of Object.entries(GATEWAY_RESPONSE_TYPES) as [
      GatewayResponseType,
      apigw.ResponseType,
    ][]) {
      const retryAfter = retryAfterOf(type);
      this.restApi.addGatewayResponse(type, {
        type: responseType,
        statusCode: String(GATEWAY_RESPONSES[type].statusCode),
        responseHeaders: quotedHeaders({
          ...cors,
          ...(retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) }),
        }),
        templates: { 'application/json': gatewayResponseTemplate(type, openAIResources, libreResources) },
      });
    }
    // Every other gateway error keeps API Gateway's status, in the envelope, with CORS.
    for (const type of Object.keys(DEFAULT_GATEWAY_RESPONSES) as (keyof typeof DEFAULT_GATEWAY_RESPONSES)[]) {
      this.restApi.addGatewayResponse(type, {
        type: apigw.ResponseType[type],
        responseHeaders: quotedHeaders(cors),
        templates: { 'application/json': defaultGatewayResponseTemplate(type) },
      });
    }

    const ack = (id: string, reason: string) => Validations.of(this.restApi).acknowledge({ id, reason });
    const authn =
      'Callers are services, not end users: each authenticates with an API key bound to a usage plan (throttle and quota per tier), read by a Lambda REQUEST authorizer from x-api-key or Authorization: Bearer (functions/authorizer/); /health (uptime checks) and the LibreTranslate GET /languages and GET /frontend/settings (its clients call them before they send a key; no inference) are deliberately open. A Cognito or IAM authorizer would add no identity the product uses.';
    ack('AwsSolutions-APIG4', authn);
    ack('AwsSolutions-COG4', authn);
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      "AWS-maintained policy of API Gateway's account-level CloudWatch role, needed for execution logs (APIG6).",
    );

    for (const tier of config.usagePlans) {
      const plan = this.restApi.addUsagePlan(`Plan-${tier.name}`, {
        name: usagePlanName(config, tier),
        description: `${tier.name} tier: ${tier.rateLimit} req/s (burst ${tier.burstLimit}), ${tier.quota.limit} per ${tier.quota.period.toLowerCase()}`,
        throttle: { rateLimit: tier.rateLimit, burstLimit: tier.burstLimit },
        quota: { limit: tier.quota.limit, period: apigw.Period[tier.quota.period] },
        apiStages: [{ api: this.restApi, stage: this.restApi.deploymentStage }],
      });
      this.usagePlans.set(tier.name, plan);
    }
  }
}
