/** The call was not made: the endpoint timed out a moment ago (see `Breaker`). */
export class BreakerOpenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BreakerOpenError';
  }
}

/**
 * A call that got no answer in time: the client's connection or request timeout. The SDK
 * also names a reset or broken connection `TimeoutError` (codes ECONNRESET, EPIPE); those
 * fail fast and do not count.
 */
const timedOut = (error: unknown): boolean => {
  const { name, code } = error as { name?: string; code?: string };
  return name === 'TimeoutError' && code !== 'ECONNRESET' && code !== 'EPIPE';
};

/**
 * Stops calling DynamoDB for `openMs` after a call timed out. A refused connection fails
 * in milliseconds and needs nothing more than the client's bounded retries, but an endpoint
 * that accepts and never answers costs each call its full timeout budget (seconds): without
 * this, every request would pay it, for each of its calls, for as long as the outage lasts.
 * While open, the request-path callers degrade at once (the result cache counts a miss, the
 * log writes its fallback line); after `openMs` the next calls go through again.
 *
 * @example
 * const breaker = new Breaker({ openMs: 10_000 });
 * await breaker.run(() => client.send(command)); // throws BreakerOpenError for 10 s after a timeout
 */
export class Breaker {
  private openUntil = 0;

  constructor(private readonly options: { openMs: number; now?: () => number }) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.now() < this.openUntil) {
      throw new BreakerOpenError(`not called: DynamoDB timed out less than ${this.options.openMs} ms ago`);
    }
    try {
      return await call();
    } catch (error) {
      if (timedOut(error)) this.openUntil = this.now() + this.options.openMs;
      throw error;
    }
  }
}
