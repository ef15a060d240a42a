import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { handlerCommand } from '../../infra/lib/image.ts';
import { STAGE_NAMES } from '../../infra/lib/stages.ts';
import { imageFunctionEnv, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

type Props = Record<string, unknown>;
type Statement = { Action: string | string[]; Resource: unknown };

const functionsOf = (stage: (typeof STAGE_NAMES)[number]) =>
  Object.entries(resourcesOf(synthStage(stage).template, 'AWS::Lambda::Function')).map(
    ([id, r]) => [id, r.Properties as Props & { ImageConfig?: { Command: string[] } }] as const,
  );
/** Every statement of the policies attached to a function's role. */
const statementsOf = (stage: (typeof STAGE_NAMES)[number], fnProps: Props): Statement[] => {
  const role = JSON.stringify(fnProps.Role).match(/"([A-Za-z0-9]+)","Arn"/)?.[1];
  return Object.values(resourcesOf(synthStage(stage).template, 'AWS::IAM::Policy'))
    .map((p) => p.Properties as { Roles: unknown; PolicyDocument: { Statement: Statement[] } })
    .filter((p) => JSON.stringify(p.Roles).includes(`"${role}"`))
    .flatMap((p) => p.PolicyDocument.Statement);
};
const actionsOf = (s: Statement) => [s.Action].flat();
const keysTableId = (stage: (typeof STAGE_NAMES)[number]) =>
  Object.keys(resourcesOf(synthStage(stage).template, 'AWS::DynamoDB::Table')).find((id) => id.startsWith('KeySync'))!;

describe.each(STAGE_NAMES)('the key mirror in stage %s', (stage) => {
  it(
    'a key-sync function outside the VPC, run every minute by an EventBridge schedule',
    () => {
      const [[fnId, fn]] = functionsOf(stage).filter(
        ([, p]) => p.ImageConfig?.Command[0] === handlerCommand('key-sync')[0],
      ) as [[string, Props]];
      const rules = Object.values(resourcesOf(synthStage(stage).template, 'AWS::Events::Rule')).map(
        (r) => r.Properties as Props,
      );

      expect(fn.VpcConfig).toBeUndefined();
      const schedule = rules.filter((r) => JSON.stringify(r.Targets).includes(fnId));
      expect(schedule).toHaveLength(1);
      expect(schedule[0]).toMatchObject({ ScheduleExpression: 'rate(1 minute)', State: 'ENABLED' });
      expect(imageFunctionEnv(stage, 'key-sync').API_KEYS_TABLE).toBeDefined();
      // Of a key's plans (one per API stage), this API's is mirrored: its id, by reference.
      const [apiId] = Object.keys(resourcesOf(synthStage(stage).template, 'AWS::ApiGateway::RestApi'));
      expect((fn.Environment as { Variables: Props }).Variables.REST_API_ID).toEqual({ Ref: apiId });
      // Named in an output, so a key change can be mirrored at once (README, "API keys").
      expect(JSON.stringify(synthStage(stage).template.findOutputs('KeySyncFunction'))).toContain(fnId);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('the sync may only GET keys, usage plans and their keys, and Scan/PutItem/DeleteItem the key table', () => {
    const [[, fn]] = functionsOf(stage).filter(
      ([, p]) => p.ImageConfig?.Command[0] === handlerCommand('key-sync')[0],
    ) as [[string, Props]];
    const statements = statementsOf(stage, fn).filter((s) => !actionsOf(s).every((a) => a.startsWith('xray:')));

    expect(statements.flatMap(actionsOf).sort()).toEqual([
      'apigateway:GET',
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
    ]);
    const apigw = statements.find((s) => actionsOf(s).includes('apigateway:GET'))!;
    const paths = [apigw.Resource].flat().map((r) => JSON.stringify(r).match(/::(\/[^"]*)"/)?.[1]);
    expect(paths.sort()).toEqual(['/apikeys', '/usageplans', '/usageplans/*/keys']);
    const table = statements.find((s) => actionsOf(s).includes('dynamodb:Scan'))!;
    expect(JSON.stringify(table.Resource)).toContain(keysTableId(stage));
    expect(JSON.stringify(table.Resource)).not.toContain('/index/');
  });

  it('no inference function may call API Gateway; the body-keyed ones may only GetItem the key table', () => {
    const inference = functionsOf(stage).filter(([, p]) => JSON.stringify(p.VpcConfig ?? null) !== 'null');
    const bodyKeyed = [...new Set(ROUTES.filter((r) => r.bodyKey).map((r) => r.fn))].sort();

    expect(inference.length).toBeGreaterThan(bodyKeyed.length);
    const readers: string[] = [];
    for (const [, fn] of inference) {
      const statements = statementsOf(stage, fn);
      expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('apigateway:'))).toEqual([]);
      const onKeys = statements.filter((s) => JSON.stringify(s.Resource).includes(keysTableId(stage)));
      if (onKeys.length === 0) continue;
      expect(onKeys.flatMap(actionsOf)).toEqual(['dynamodb:GetItem']);
      readers.push(String(fn.ImageConfig?.Command[0]));
    }
    expect(readers.sort()).toEqual(bodyKeyed.map((fn) => handlerCommand(fn)[0]));
    for (const fn of bodyKeyed) expect(imageFunctionEnv(stage, fn).API_KEYS_TABLE).toBeDefined();
  });
});
