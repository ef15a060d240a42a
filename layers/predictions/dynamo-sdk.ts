/**
 * The DynamoDB commands the serving functions send, in one module that they import on
 * first use (`dynamoSdk()` in dynamo.ts): the AWS SDK stays out of their cold start.
 */
export {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
