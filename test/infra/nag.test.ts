import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { STAGE_NAMES } from '../../infra/lib/stages.ts';
import { SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

const MIN_REASON_CHARS = 40;

/** Every cdk-nag acknowledgement recorded under a scope (CDK stores `{ [ruleId]: reason }`). */
const acknowledgements = (scope: IConstruct) =>
  scope.node
    .findAll()
    .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
    .flatMap((m) => Object.entries(m.data as Record<string, string>))
    .map(([id, reason]) => ({ id: id.replace(/^[A-Za-z-]+::/, ''), reason }))
    .filter((a) => a.id.startsWith('AwsSolutions-'));

describe('cdk-nag AwsSolutions checks', () => {
  it.each(STAGE_NAMES)(
    '%s: no unacknowledged findings',
    (stage) => {
      const { stack } = synthStage(stage);

      const report = new AwsSolutionsChecks().validateScope(stack);

      const findings = report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`,
      );
      expect(findings).toEqual([]);
      expect(report.success).toBe(true);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'every acknowledgement names a rule and gives a reason a reviewer can check',
    () => {
      const { stack } = synthStage('prod');

      const acks = acknowledgements(stack);

      expect(acks.length).toBeGreaterThan(5);
      for (const ack of acks) {
        expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
        expect(ack.reason.length, ack.id).toBeGreaterThanOrEqual(MIN_REASON_CHARS);
      }
      // Bulk acknowledgements of wildcard findings would hide new ones: IAM5 is always per finding.
      expect(acks.filter((a) => a.id === 'AwsSolutions-IAM5')).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('reports a finding when there is one (the check is live)', () => {
    const stack = new Stack(new App(), 'Bad');
    new s3.Bucket(stack, 'NoSslNoLogs');

    const report = new AwsSolutionsChecks().validateScope(stack);

    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining([expect.stringContaining('AwsSolutions-S1'), expect.stringContaining('AwsSolutions-S10')]),
    );
  });
});
