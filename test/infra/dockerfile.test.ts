import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, ROUTES } from '#functions/routes.ts';
import { DOCKERFILE, handlerCommand, IMAGE_CONTEXT, REPO_ROOT } from '../../infra/lib/image.ts';
import { resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

const dockerfile = readFileSync(path.join(REPO_ROOT, DOCKERFILE), 'utf8');
/** Instructions with line continuations joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.filter((l) => l.startsWith('FROM '));

/** Checks that `functions/<name>/handler.handler` names a source file exporting `handler`. */
const expectHandlerExists = (command: string) => {
  const match = /^functions\/([a-z-]+)\/handler\.handler$/.exec(command);
  expect(match, command).not.toBeNull();
  const source = path.join(REPO_ROOT, 'functions', match?.[1] ?? '', 'handler.ts');
  expect(existsSync(source), `${source} must exist for the command ${command}`).toBe(true);
  expect(readFileSync(source, 'utf8')).toMatch(
    /export\s+(const|async function|function)\s+handler\b|export\s*\{[^}]*\bhandler\b/,
  );
};

describe('infra/Dockerfile', () => {
  it('ends on the AWS Lambda Node.js 22 base image and copies the bundles to functions/', () => {
    expect(stages.at(-1)).toBe('FROM public.ecr.aws/lambda/nodejs:22');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable, not a JS template
    expect(instructions).toContain('COPY --from=build /src/dist/functions ${LAMBDA_TASK_ROOT}/functions');
  });

  it('builds the bundles with npm ci and npm run build on Node 22', () => {
    expect(stages[0]).toMatch(/node:22\S* AS build$/);
    expect(instructions).toContain('RUN npm ci --ignore-scripts --no-audit --no-fund');
    expect(instructions).toContain('RUN npm run build');
  });

  it('installs only the external packages, for TARGETARCH, and deletes other platforms of onnxruntime-node', () => {
    const deps = instructions.find((l) => l.includes('npm install')) ?? '';

    expect(instructions).toContain('ARG TARGETARCH');
    expect(deps).toContain('"onnxruntime-node","sharp"');
    expect(deps).toContain('--omit=dev');
    expect(deps).toMatch(/--cpu="\$CPU"/);
    expect(deps).toMatch(/onnxruntime-node\/bin\/napi-v\*/);
    expect(deps).toMatch(/! -name linux -exec rm -rf/);
    expect(deps).toMatch(/! -name "\$CPU" -exec rm -rf/);
  });

  it('copies only paths the asset context includes (everything else is left out of the build)', () => {
    const sources = instructions
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));

    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) expect(IMAGE_CONTEXT, src).toContain(`!${src}`);
    expect(IMAGE_CONTEXT[0]).toBe('*');
  });

  it('has a default command that names an existing handler', () => {
    const cmd = instructions.find((l) => l.startsWith('CMD ')) ?? '';

    expectHandlerExists((JSON.parse(cmd.slice(4)) as string[])[0] ?? '');
  });

  it('build script writes the path the image copies (dist/functions/<name>/handler.mjs)', () => {
    const build = readFileSync(path.join(REPO_ROOT, 'scripts/build.ts'), 'utf8');

    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal
    expect(build).toContain('outfile: `dist/functions/${name}/handler.mjs`');
  });
});

describe('image commands', () => {
  it('maps every capability to functions/<capability>/handler.handler', () => {
    for (const cap of CAPABILITIES) expect(handlerCommand(cap)).toEqual([`functions/${cap}/handler.handler`]);
  });

  it(
    'every deployed function names a handler that exists and exports `handler`, and every capability with routes is deployed',
    () => {
      const { template } = synthStage('prod');
      const commands = Object.values(resourcesOf(template, 'AWS::Lambda::Function'))
        .map((f) => (f.Properties as { ImageConfig?: { Command: string[] } }).ImageConfig?.Command)
        .filter((c) => c !== undefined);

      for (const [command] of commands) expectHandlerExists(command ?? '');
      const routed = CAPABILITIES.filter((cap) => ROUTES.some((r) => r.fn === cap));
      for (const cap of [...routed, 'warm' as const]) {
        expect(commands).toContainEqual(handlerCommand(cap));
      }
    },
    SYNTH_TIMEOUT_MS,
  );
});
