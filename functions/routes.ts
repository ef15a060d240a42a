import { CAPABILITIES, type Capability } from './capabilities.ts';
import { completions } from './completions/routes.ts';
import { detect } from './detect/routes.ts';
import { models } from './models/routes.ts';
import { predict } from './predict/routes.ts';
import type { ErrorShape, HttpMethod } from './spec.ts';
import { translate } from './translate/routes.ts';

/**
 * The one capability table: each capability's route specs (`functions/<capability>/routes.ts`),
 * in the order the routes are listed (the OpenAPI document follows it). The local API
 * Gateway emulator (`local/`) and the CDK REST API (`infra/`) are both built from it, so a
 * route cannot exist in one and not the other. A new capability is a new folder and one
 * line here.
 */
export const CAPABILITY_SPECS = [predict, completions, detect, translate, models] as const;

// The names' module and this table must agree, in order: a type error if a spec's name is not
// one of them, a load-time error if the lists differ.
const names: readonly Capability[] = CAPABILITY_SPECS.map((c) => c.name);
if (names.join() !== CAPABILITIES.join()) {
  throw new Error(`functions/capabilities.ts lists ${CAPABILITIES.join(', ')}; the table has ${names.join(', ')}`);
}

export { CAPABILITIES, type Capability };

/** A route as the emulator and the infrastructure see it: where it is and which function serves it. */
export interface RouteDef {
  method: HttpMethod;
  /** API Gateway resource syntax: `/v1/models/{id}`. */
  path: string;
  /** The capability whose Lambda function serves it (one function per capability). */
  fn: Capability;
  /** Keyed at the gateway (authorizer and usage plan); false for the open routes and the body-keyed ones. */
  apiKeyRequired: boolean;
  /** Keyless at the gateway, keyed by the function: the key in a header or the body's `api_key`. */
  bodyKey?: boolean;
  /** Served through Lambda response streaming (SSE) when the request asks for it. */
  streaming?: boolean;
  /** Error shape used by this route: OpenAI routes answer in OpenAI's error format. */
  errorShape?: ErrorShape;
  /** The body may also be form-encoded. */
  form?: boolean;
  /** Answered by the gateway with this body, no function invoked (a MOCK integration). */
  mock?: { body: Record<string, unknown> };
  /** Counts characters or tokens per key (the spec's `usage`): the function needs the usage table. */
  metered?: boolean;
  /** Takes a Hugging Face id (the spec's `hubImport`): the function needs the import jobs table. */
  hubImport?: boolean;
}

export const ROUTES: readonly RouteDef[] = CAPABILITY_SPECS.flatMap((capability) =>
  Object.values(capability.routes).map(
    (spec): RouteDef => ({
      method: spec.method,
      path: spec.path,
      fn: capability.name,
      apiKeyRequired: spec.auth !== 'none' && spec.auth !== 'headerOrBody',
      ...(spec.auth === 'headerOrBody' ? { bodyKey: true } : {}),
      ...('streaming' in spec && spec.streaming ? { streaming: true } : {}),
      ...('errorShape' in spec && spec.errorShape ? { errorShape: spec.errorShape } : {}),
      ...('form' in spec && spec.form ? { form: true } : {}),
      ...('mock' in spec && spec.mock ? { mock: spec.mock } : {}),
      ...('usage' in spec && spec.usage ? { metered: true } : {}),
      ...('hubImport' in spec && spec.hubImport ? { hubImport: true } : {}),
    }),
  ),
);

/** Routes served by one capability's function. */
export const routesOf = (fn: Capability): RouteDef[] => ROUTES.filter((r) => r.fn === fn);
