/**
 * A Dockerfile as data: its global ARGs and its stages with their instructions, in the
 * shape the image replay (`image-replay.ts`) executes. Only what `infra/Dockerfile` may
 * use is understood (FROM, ARG, ENV, WORKDIR, COPY, RUN, CMD); anything else is an error,
 * so a new instruction cannot be silently skipped by the replay.
 */

export type Instruction =
  | { kind: 'ARG'; name: string; value?: string }
  | { kind: 'ENV'; name: string; value: string }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'COPY'; from?: string; sources: string[]; dest: string }
  | { kind: 'RUN'; command: string }
  | { kind: 'CMD'; command: string[] };

export interface Stage {
  /** `FROM <image>` as written (variables not expanded). */
  image: string;
  platform?: string;
  name?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM (usable in FROM lines). */
  globalArgs: Extract<Instruction, { kind: 'ARG' }>[];
  stages: Stage[];
}

/** Logical lines: continuations joined, comments and parser directives dropped. */
const logicalLines = (text: string): string[] => {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line === '' || line.startsWith('#'))) continue;
    if (current && line.startsWith('#')) continue; // a comment inside a continued RUN
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    lines.push(current + line);
    current = '';
  }
  if (current) lines.push(current);
  return lines;
};

const parseArg = (rest: string): Extract<Instruction, { kind: 'ARG' }> => {
  const eq = rest.indexOf('=');
  return eq < 0 ? { kind: 'ARG', name: rest } : { kind: 'ARG', name: rest.slice(0, eq), value: rest.slice(eq + 1) };
};

/**
 * Parses a Dockerfile.
 *
 * @example
 * parseDockerfile('FROM node:22 AS build\nWORKDIR /src\nRUN npm ci').stages[0]?.name; // => 'build'
 */
export const parseDockerfile = (text: string): Dockerfile => {
  const file: Dockerfile = { globalArgs: [], stages: [] };
  for (const line of logicalLines(text)) {
    const [keyword = '', ...words] = line.split(/\s+/);
    const rest = line.slice(keyword.length).trim();
    const stage = file.stages.at(-1);
    const kind = keyword.toUpperCase();
    if (kind === 'FROM') {
      const platform = words.find((w) => w.startsWith('--platform='))?.slice('--platform='.length);
      const [image = '', as, name] = words.filter((w) => !w.startsWith('--'));
      file.stages.push({ image, platform, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    if (kind === 'ARG' && !stage) {
      file.globalArgs.push(parseArg(rest));
      continue;
    }
    if (!stage) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    if (kind === 'ARG') stage.instructions.push(parseArg(rest));
    else if (kind === 'ENV') {
      const [name = '', ...value] = rest.split(/[=\s]/);
      stage.instructions.push({ kind: 'ENV', name, value: value.join(' ') });
    } else if (kind === 'WORKDIR') stage.instructions.push({ kind: 'WORKDIR', path: rest });
    else if (kind === 'RUN') stage.instructions.push({ kind: 'RUN', command: rest });
    else if (kind === 'CMD') stage.instructions.push({ kind: 'CMD', command: JSON.parse(rest) as string[] });
    else if (kind === 'COPY') {
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = paths.pop();
      if (!dest || paths.length === 0) throw new Error(`Dockerfile: COPY needs a source and a destination: ${line}`);
      stage.instructions.push({ kind: 'COPY', from, sources: paths, dest });
    } else throw new Error(`Dockerfile: the replay does not know ${keyword} (${line})`);
  }
  return file;
};

/**
 * `$NAME` and `${NAME}` (and `${NAME:-default}`) replaced from `vars`; unknown names become ''.
 *
 * @example
 * expandVars('${A}/x ${B:-b}', { A: '/root' }); // => '/root/x b'
 */
export const expandVars = (text: string, vars: Readonly<Record<string, string | undefined>>): string =>
  text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_, braced, fallback, bare) => {
      const value = vars[(braced ?? bare) as string];
      return value === undefined || value === '' ? (fallback ?? '') : value;
    },
  );
