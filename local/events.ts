import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';

/** A Lambda context as the runtime would pass it, with a real deadline. */
export const lambdaContext = (functionName: string, timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '2048',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
};

export interface ProxyEventInput {
  method: string;
  /** The route's resource template (`/v1/models/{id}`). */
  resource: string;
  path: string;
  pathParameters: Record<string, string> | null;
  headers: Record<string, string>;
  query: URLSearchParams;
  body: string | null;
  apiKeyId?: string;
  /** The key's usage plan, as the authorizer's context carries it. */
  plan?: string | undefined;
  sourceIp?: string;
  /** API Gateway's request id (`$context.requestId`); a fresh one by default. */
  requestId?: string;
}

/** An API Gateway REST proxy event, as API Gateway builds it for a Lambda proxy integration. */
export const proxyEvent = (input: ProxyEventInput): APIGatewayProxyEvent => {
  // A Map, not an object literal: a parameter named `__proto__` or `valueOf` is data, as in API Gateway.
  const values = new Map<string, string[]>();
  for (const [k, v] of input.query) values.set(k, [...(values.get(k) ?? []), v]);
  const query = Object.fromEntries([...values].map(([k, v]) => [k, v.at(-1)!]));
  const multiQuery = Object.fromEntries(values);
  const now = Date.now();
  return {
    resource: input.resource,
    path: input.path,
    httpMethod: input.method,
    headers: input.headers,
    multiValueHeaders: Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: input.pathParameters,
    stageVariables: null,
    body: input.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      // A keyed route's REQUEST authorizer context (functions/authorizer/): principal, key id, plan.
      authorizer: input.apiKeyId
        ? {
            principalId: input.apiKeyId,
            apiKeyId: input.apiKeyId,
            ...(input.plan ? { plan: input.plan } : {}),
          }
        : null,
      httpMethod: input.method,
      path: `/local${input.path}`,
      protocol: 'HTTP/1.1',
      requestId: input.requestId ?? randomUUID(),
      requestTimeEpoch: now,
      resourceId: 'local',
      resourcePath: input.resource,
      stage: 'local',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: input.apiKeyId ?? null,
        apiKeyId: input.apiKeyId ?? null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: input.sourceIp ?? '127.0.0.1',
        user: null,
        userAgent: input.headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
};
