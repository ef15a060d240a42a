import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '#runtime/config.ts';
import { Breaker } from './breaker.ts';

/**
 * DynamoDB for the serving functions, with the AWS SDK out of their start-up: nothing here
 * imports it. The SDK (`dynamo-sdk.ts`, the commands the functions send, and `client.ts`,
 * which makes clients) is imported on the first call that needs it, so a function's bundle
 * keeps it in a chunk its cold start does not parse: about 30 ms of detect's import (the
 * SDK's DynamoDB client and Smithy: 450 of the 1,000 kB it loaded at start), for a first
 * request that sends nothing to DynamoDB (records and model state leave as log lines; a
 * small model's shared cache lookup is skipped; a key with no allowance is not charged).
 * Tests, the emulator and the ingester keep making clients with `client.ts` directly.
 */

/** What the stores call on a document client: `send`, and nothing else. */
export type DocumentSender = Pick<DynamoDBDocumentClient, 'send'>;

/** The commands the functions send, imported on first use (resolved at once after that). */
export const dynamoSdk = () => import('./dynamo-sdk.ts');

/**
 * SDK settings of the clients on a request's path (prediction log, result cache). With the
 * SDK's defaults (3 attempts, no timeouts) an unreachable table costs every answer its
 * retries and backoff, and an endpoint that accepts connections but never answers holds the
 * request until the function times out. Here one call is bounded by about
 * `maxAttempts × requestTimeout`, and a refused connection fails within milliseconds; the
 * cache then counts a miss and the log writes its fallback line, so the answer goes out.
 * The timeouts stay well above DynamoDB's single-digit-millisecond latency because they run
 * on the event loop that inference shares: a tighter one would fire after a long
 * tokenization rather than after a slow table.
 */
export const REQUEST_PATH_CLIENT = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
} as const;

/**
 * Shared by the request-path callers of one process (they reach the same endpoint): after a
 * call that timed out, they skip DynamoDB for 10 s, then try again. A hanging table then
 * costs the few requests in flight when it stopped answering, not every request.
 */
export const requestPathBreaker = new Breaker({ openMs: 10_000 });

/**
 * A document client made on its first call, with the SDK imported then: making one also
 * costs about 5 ms the first time in a process (the SDK's configuration resolved and
 * compiled), which a cold start that sends nothing never pays.
 *
 * @example
 * const dynamo = lazyDocumentClient(config(), REQUEST_PATH_CLIENT); // no SDK loaded, no client made
 * const { GetCommand } = await dynamoSdk();
 * await dynamo.send(new GetCommand({ TableName: 't', Key: { k: '1' } })); // made here, once
 */
export const lazyDocumentClient = (
  c: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>,
  tuning: Pick<DynamoDBClientConfig, 'maxAttempts' | 'requestHandler'> = {},
): DocumentSender => {
  let made: Promise<DynamoDBDocumentClient> | undefined;
  // `send` is overloaded (promise and callback forms); the stores use the promise form only.
  const send = async (...args: Parameters<DynamoDBDocumentClient['send']>) => {
    made ??= import('./client.ts').then((m) => m.makeDocumentClient(c, tuning));
    return (await made).send(...args);
  };
  return { send: send as DynamoDBDocumentClient['send'] };
};

let requestPath: { config: object; client: DocumentSender } | undefined;
/**
 * The process's one client on a request's path (`REQUEST_PATH_CLIENT` settings): the result
 * cache, the model state, fair use, the import jobs and the key mirror send through it, as
 * they share `requestPathBreaker`, so a process sets one client up and keeps one pool of
 * connections rather than one of each. Made again when the configuration object changes
 * (tests swap it).
 *
 * @example
 * requestPathClient(config()) === requestPathClient(config()); // => true
 */
export const requestPathClient = (c: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>): DocumentSender => {
  if (requestPath?.config !== c) requestPath = { config: c, client: lazyDocumentClient(c, REQUEST_PATH_CLIENT) };
  return requestPath.client;
};

/** True for DynamoDB's refusal of a conditional write (told by name: the class is in the SDK). */
export const isConditionalCheckFailed = (error: unknown): boolean =>
  (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
