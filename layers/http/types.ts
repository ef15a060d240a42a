import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';

/** A REST API proxy event whose JSON body has been parsed by `jsonBody()`. */
export type ApiEvent = Omit<APIGatewayProxyEvent, 'body'> & { body: unknown };
export type ApiResult = APIGatewayProxyResult;
export type ApiRequest = Request<ApiEvent, ApiResult, Error, Context>;
export type ApiMiddleware = MiddlewareObj<ApiEvent, ApiResult, Error, Context>;
export type RouteHandler = (event: ApiEvent, context: Context) => Promise<ApiResult>;
