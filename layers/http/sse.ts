import { Readable } from 'node:stream';
import { ClientClosedError } from '#runtime/errors.ts';

/** Sends one event; returns false once the client has gone (stop producing). */
export type SendEvent = (data: unknown) => boolean;

/**
 * A Server-Sent Events body: `data: <json>\n\n` per event, then `data: [DONE]\n\n` (the
 * OpenAI convention). The producer runs while the stream is read and pushes events as
 * they happen, so the first token reaches the client before generation finishes. An
 * error thrown by the producer mid-stream becomes a final `data: {"error":…}` event
 * (the status line has already gone out by then). The producer's `signal` aborts with a
 * {@link ClientClosedError} when the stream is destroyed: the client went away (the Lambda
 * response stream, or the emulator's, closed), so the producer stops its work.
 *
 * @example
 * const body = sseStream(async (send) => { send({ n: 1 }); send({ n: 2 }); }, (e) => ({ error: { message: 'failed' } }));
 * // "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n"
 */
export const sseStream = (
  producer: (send: SendEvent, signal: AbortSignal) => Promise<void>,
  errorEvent: (error: unknown) => unknown,
  /** `false`: no `[DONE]` event (Text Generation Inference's streams end without one). */
  { done = true }: { done?: boolean } = {},
): Readable => {
  let open = true;
  const gone = new AbortController();
  const stream = new Readable({
    read() {},
    destroy(error, callback) {
      open = false;
      gone.abort(new ClientClosedError());
      callback(error);
    },
  });
  const send: SendEvent = (data) => {
    if (!open) return false;
    stream.push(`data: ${JSON.stringify(data)}\n\n`);
    return true;
  };
  void producer(send, gone.signal)
    .catch((error: unknown) => {
      send(errorEvent(error));
    })
    .finally(() => {
      if (!open) return;
      if (done) stream.push('data: [DONE]\n\n');
      stream.push(null);
    });
  return stream;
};

/**
 * The 200 answer that carries an {@link sseStream} body: `httpApi`'s streaming handler pipes a
 * Readable body to the Lambda response stream (the emulator's likewise).
 */
export const sseResponse = (body: Readable) => ({
  statusCode: 200,
  headers: {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  },
  // The result type says string; a streaming handler's body may be a Readable.
  body: body as unknown as string,
});
