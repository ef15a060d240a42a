import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import * as z from 'zod';

/**
 * What an optimised graph is valid for. Level-`all` graphs may hold kernels and layouts
 * chosen for the CPU (ORT warns so when it saves one), so a copy is keyed by the ONNX
 * Runtime version, the architecture, the CPU's identity and feature flags, and the level.
 */
export interface GraphEnvironment {
  onnxruntime: string;
  arch: string;
  /** The CPU's identity (vendor, family, model or implementer, part), from /proc/cpuinfo. */
  cpu: string;
  /** Its feature flags (x86 `flags`, arm64 `Features`), sorted: the kernels ORT may choose from. */
  cpuFlags: string;
  level: 'all';
}

export const EnvironmentSchema = z.object({
  onnxruntime: z.string(),
  arch: z.string(),
  cpu: z.string(),
  cpuFlags: z.string(),
  level: z.literal('all'),
});

const cpuIdentity = async (): Promise<{ cpu: string; cpuFlags: string }> => {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  // The first processor's block: every core of a Lambda host is the same CPU.
  const fields = new Map<string, string>();
  for (const line of info.split('\n\n')[0]?.split('\n') ?? []) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const identity = [
    'vendor_id',
    'cpu family',
    'model',
    'model name',
    'CPU implementer',
    'CPU architecture',
    'CPU variant',
    'CPU part',
  ]
    .filter((k) => fields.has(k))
    .map((k) => `${k}=${fields.get(k)}`);
  const flags = (fields.get('flags') ?? fields.get('Features') ?? '').split(/\s+/).filter(Boolean).sort();
  return {
    cpu: identity.length > 0 ? identity.join('; ') : (os.cpus()[0]?.model ?? 'unknown'),
    cpuFlags: flags.join(' '),
  };
};

let current: Promise<GraphEnvironment> | undefined;
/**
 * This process's environment: the onnxruntime-node package the functions load, the
 * architecture, the CPU's identity and feature flags.
 *
 * @example
 * await graphEnvironment(); // => { onnxruntime: '1.30.0', arch: 'arm64', cpu: 'CPU implementer=0x41; ...', cpuFlags: 'aes asimd ...', level: 'all' }
 */
export const graphEnvironment = (): Promise<GraphEnvironment> => {
  current ??= cpuIdentity().then(({ cpu, cpuFlags }) => ({
    onnxruntime: (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version,
    arch: process.arch,
    cpu,
    cpuFlags,
    level: 'all' as const,
  }));
  return current;
};

/**
 * The folder name of an environment's copies: a digest, so any change of any field is another key.
 *
 * @example
 * environmentKey(await graphEnvironment()); // => '3f2a9c0d1e4b5a67'
 */
export const environmentKey = (environment: GraphEnvironment): string =>
  createHash('sha256')
    .update(JSON.stringify(EnvironmentSchema.parse(environment)))
    .digest('hex')
    .slice(0, 16);

/**
 * The environment to key by (`given`, else this process's) and its key.
 *
 * @example
 * (await keyedEnvironment()).key; // => '3f2a9c0d1e4b5a67'
 */
export const keyedEnvironment = async (
  given?: GraphEnvironment,
): Promise<{ environment: GraphEnvironment; key: string }> => {
  const environment = given ?? (await graphEnvironment());
  return { environment, key: environmentKey(environment) };
};
