/**
 * The `awslambda` global that the Lambda Node.js runtime provides for response
 * streaming (`httpApi` in layers/http/api.ts calls it). Locally, `local/lambda-shim.ts`
 * installs a stand-in with the same shape.
 */
import type { Writable } from 'node:stream';

declare global {
  interface AwsLambdaResponseMetadata {
    statusCode?: number;
    headers?: Record<string, string | number | boolean>;
    multiValueHeaders?: Record<string, Array<string | number | boolean>>;
    cookies?: string[];
  }
  var awslambda:
    | {
        streamifyResponse: <E, C>(
          handler: (event: E, responseStream: Writable, context: C) => Promise<void>,
        ) => (event: E, responseStream: Writable, context: C) => Promise<void>;
        HttpResponseStream: { from: (stream: Writable, metadata: AwsLambdaResponseMetadata) => Writable };
        /**
         * The runtime's per-invocation store (`@aws/lambda-invoke-store`): Powertools keeps its
         * logger keys and metrics in it when `AWS_LAMBDA_MAX_CONCURRENCY` is set.
         */
        InvokeStore?: {
          hasContext: () => boolean;
          get: (key: symbol | string) => unknown;
          set: (key: symbol | string, value: unknown) => void;
          getRequestId: () => string;
          getXRayTraceId: () => string | undefined;
        };
      }
    | undefined;
}
