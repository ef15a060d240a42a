import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CAPABILITIES, ROUTES } from '#functions/routes.ts';
import { DOCKERFILE, handlerCommand, IMAGE_CONTEXT, REPO_ROOT } from '../../infra/lib/image.ts';
import { expandVars, parseDockerfile } from '../helpers/dockerfile.ts';
import { resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

const file = parseDockerfile(readFileSync(path.join(REPO_ROOT, DOCKERFILE), 'utf8'));
const defaults = Object.fromEntries(file.globalArgs.map((a) => [a.name, a.value ?? '']));

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

// What the build does is checked by replaying it (image-build.test.ts); these are the facts around it.
describe('infra/Dockerfile', () => {
  it('ends on the AWS Lambda Node.js 22 base image and builds on Node 22, each named by one ARG (a digest pins it)', () => {
    expect(file.stages.map((s) => expandVars(s.image, defaults))).toEqual([
      'node:22-bookworm-slim',
      'node:22-bookworm-slim',
      'public.ecr.aws/lambda/nodejs:22',
    ]);
    for (const arg of file.globalArgs)
      expect(arg.value, arg.name).toMatch(/^[a-z0-9./-]+:22[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$/);
  });

  it('copies only paths the asset context includes (everything else is left out of the build)', () => {
    const sources = file.stages
      .flatMap((s) => s.instructions)
      .flatMap((i) => (i.kind === 'COPY' && i.from === undefined ? i.sources : []));

    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) expect(IMAGE_CONTEXT, src).toContain(`!${src}`);
    expect(IMAGE_CONTEXT[0]).toBe('*');
  });

  it('has a default command that names an existing handler', () => {
    const cmd = file.stages.at(-1)?.instructions.find((i) => i.kind === 'CMD');

    expectHandlerExists(cmd?.kind === 'CMD' ? (cmd.command[0] ?? '') : '');
  });
});

describe('Dockerfile parser of the replay', () => {
  it('joins continuations, keeps stage names, COPY --from and ARG defaults, and refuses unknown instructions', () => {
    const parsed = parseDockerfile(
      'ARG IMG=node:22\nFROM --platform=$BUILDPLATFORM $IMG AS build\n# c\nRUN a \\\n  && b\nCOPY --from=x /a /b\nFROM y\nCMD ["h.handler"]',
    );

    expect(parsed.globalArgs).toEqual([{ kind: 'ARG', name: 'IMG', value: 'node:22' }]);
    expect(parsed.stages[0]).toMatchObject({ name: 'build', platform: '$BUILDPLATFORM', image: '$IMG' });
    expect(parsed.stages[0]?.instructions).toEqual([
      { kind: 'RUN', command: 'a  && b' },
      { kind: 'COPY', from: 'x', sources: ['/a'], dest: '/b' },
    ]);
    expect(parsed.stages[1]?.instructions).toEqual([{ kind: 'CMD', command: ['h.handler'] }]);
    expect(() => parseDockerfile('FROM x\nHEALTHCHECK NONE')).toThrow(/HEALTHCHECK/);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile variable with a default, not a JS template
    expect(expandVars('${A:-x}/$B', { B: 'b' })).toBe('x/b');
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
      for (const cap of [...routed, 'warm' as const, 'ingest' as const]) {
        expect(commands).toContainEqual(handlerCommand(cap));
      }
    },
    SYNTH_TIMEOUT_MS,
  );
});
