import './lambda-shim.ts';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { lambdaContext } from './events.ts';
import type { EmulatorMessage, InstanceMessage, InvokeMessage } from './instances.ts';
import { inInvocation, type MetadataStream, STREAMING } from './lambda-shim.ts';
import type { ProxyHandler, StreamingHandler } from './server.ts';

/**
 * One emulated Lambda instance (a child process of the emulator, see `instances.ts`): the
 * init phase imports the function's handler module, then it serves one invocation at a
 * time, as a Lambda execution environment does, and reports each one's duration and
 * CPU time. Started with `<handler module> <function name>`.
 */
const [entry, functionName] = process.argv.slice(2);
if (!entry || !functionName || !process.send) {
  console.error('local/instance.ts is started by the emulator (local/instances.ts), not by hand.');
  process.exit(2);
}
const send = (message: InstanceMessage): void => {
  process.send?.(message);
};

const { handler } = (await import(pathToFileURL(entry).href)) as { handler: ProxyHandler | StreamingHandler };
send({ type: 'ready' });

/** A response stream whose status, headers and chunks go to the emulator over IPC. */
const ipcStream = (id: number): MetadataStream => {
  const stream: MetadataStream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      send({ type: 'chunk', id, data: chunk });
      callback();
    },
    final(callback) {
      send({ type: 'end', id });
      callback();
    },
  });
  stream.setMetadata = (metadata) => send({ type: 'head', id, metadata });
  return stream;
};

/** The response streams of the invocations running, by id: a client that leaves closes its own. */
const streams = new Map<number, MetadataStream>();
/** Invocations whose client left (their stream closed by the emulator's `abort`). */
const aborted = new Set<number>();

const invoke = async (message: InvokeMessage): Promise<void> => {
  const context = lambdaContext(functionName, message.timeoutMs);
  await inInvocation(context.awsRequestId, () => invokeIn(message, context));
};

const invokeIn = async ({ id, event }: InvokeMessage, context: Context): Promise<void> => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const usage = () => {
    const used = process.cpuUsage(cpu);
    return { durationMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
  };
  try {
    if ((handler as StreamingHandler)[STREAMING]) {
      const stream = ipcStream(id);
      streams.set(id, stream);
      await (handler as StreamingHandler)(event as APIGatewayProxyEvent, stream, context).finally(() =>
        streams.delete(id),
      );
      if (!stream.writableFinished && !stream.destroyed) await new Promise<void>((resolve) => stream.end(resolve));
      send({ type: 'done', id, ...usage() });
    } else {
      const result = await (handler as ProxyHandler)(event as APIGatewayProxyEvent, context);
      send({ type: 'result', id, result, ...usage() });
    }
  } catch (error) {
    // The client left and the stream was closed under the handler (its pipeline's premature
    // close): the invocation ended there, as the emulator's in-process one does.
    if (aborted.has(id)) {
      send({ type: 'done', id, ...usage() });
      return;
    }
    // A function error: the handler let an exception escape (the Middy stack normally
    // turns every error into a response, so this is a bug in the function).
    console.error(`${functionName}: invocation failed`, error);
    send({ type: 'failed', id, message: (error as Error).message ?? String(error), ...usage() });
  } finally {
    aborted.delete(id);
  }
};

// The emulator ends an instance with SIGTERM, as Lambda does an execution environment:
// exit normally, so that exit hooks run (e.g. --cpu-prof writes its profile).
process.on('SIGTERM', () => process.exit(0));

process.on('message', (message: EmulatorMessage) => {
  // The client left: the stream closes as Lambda's does, and the function's signal aborts.
  const stream = message.type === 'abort' ? streams.get(message.id) : undefined;
  if (stream) {
    aborted.add(message.id);
    stream.destroy();
  } else if (message.type === 'invoke') {
    // Taken, as a Lambda runtime takes an event from the Runtime API's `next`: from here an
    // instance that dies fails the invocation; before it, the emulator gives it to another.
    send({ type: 'taken', id: message.id });
    void invoke(message);
  }
});
