import type { Writable } from 'node:stream';

/** Marks a handler wrapped by `awslambda.streamifyResponse`, so the emulator streams it. */
export const STREAMING = Symbol.for('hf-serve.streaming');

/** A response stream that can take the HTTP status and headers before the body. */
export interface MetadataStream extends Writable {
  setMetadata?: (metadata: AwsLambdaResponseMetadata) => void;
}

/**
 * A stand-in for the Lambda runtime's `awslambda` global (response streaming), installed
 * only where the real one is missing: `streamifyResponse` marks the handler, and
 * `HttpResponseStream.from` hands the status and headers to the emulator's stream
 * instead of writing the runtime's binary prelude.
 */
export const installLambdaShim = (): void => {
  // Other libraries (the Lambda invoke store) may have created the global already,
  // without the streaming functions: fill in only what is missing.
  globalThis.awslambda ??= {} as NonNullable<typeof globalThis.awslambda>;
  const runtime = globalThis.awslambda;
  runtime.streamifyResponse ??= (handler) => Object.assign(handler, { [STREAMING]: true });
  runtime.HttpResponseStream ??= {
    from: (stream: MetadataStream, metadata) => {
      stream.setMetadata?.(metadata);
      return stream;
    },
  };
};

installLambdaShim();
