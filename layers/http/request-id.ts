import type { Logger } from '@aws-lambda-powertools/logger';
import type { ApiMiddleware, ApiRequest } from './types.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/** The id of this request: API Gateway's request id, which is also the log correlation id. */
export const requestIdOf = (event: { requestContext?: { requestId?: string } }, fallback = 'unknown'): string =>
  event.requestContext?.requestId ?? fallback;

/**
 * Echoes the request id as `x-request-id` on every response, errors included, so a
 * caller can quote it and an operator can find the logs and the prediction records.
 */
export const requestIdHeader = (): ApiMiddleware => {
  const addHeader = async (request: ApiRequest): Promise<void> => {
    if (!request.response) return;
    request.response.headers = {
      ...request.response.headers,
      [REQUEST_ID_HEADER]: requestIdOf(request.event, request.context.awsRequestId),
    };
  };
  return { after: addHeader, onError: addHeader };
};

/**
 * Makes the request id the logger's correlation id (`correlation_id` on every line of the
 * invocation; Powertools' `resetKeys` clears it after). Set directly rather than through
 * Powertools' `correlationIdPath`, which needs a JMESPath search function: the JMESPath
 * package was 70 kB of every function's bundle, parsed at each cold start, to read one field.
 */
export const correlationId = (logger: Pick<Logger, 'setCorrelationId'>): ApiMiddleware => ({
  before: async (request) => {
    const id = request.event.requestContext?.requestId;
    if (id) logger.setCorrelationId(id);
  },
});
