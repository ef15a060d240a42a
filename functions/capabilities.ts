/**
 * The capabilities' names, one per Lambda function, in the order of the capability table
 * (`functions/routes.ts` checks at load that its specs carry exactly these names). Code
 * that only needs the names imports this module, not the table: the table imports every
 * capability's route specs and builds their response schemas, which a function's cold
 * start would otherwise pay for all of them (the predict function's status route lists
 * every function).
 */
export const CAPABILITIES = ['predict', 'completions', 'detect', 'translate', 'models'] as const;

export type Capability = (typeof CAPABILITIES)[number];
