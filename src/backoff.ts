/**
 * Retries `attempt` with a short doubling sleep (2 ms up to 50 ms) until it gives a value or
 * `timeoutMs` has passed; `attempt` gets the time left. One backoff for every wait on a lock.
 */
export async function withBackoff<T>(timeoutMs: number, attempt: (leftMs: number) => Promise<T | undefined>, timedOut: () => Error): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
    const got = await attempt(Math.max(deadline - Date.now(), 0));
    if (got !== undefined) return got;
    if (Date.now() >= deadline) throw timedOut();
    await new Promise((r) => setTimeout(r, wait));
  }
}
