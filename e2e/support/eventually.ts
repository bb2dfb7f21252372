/**
 * Retries `check` until it stops throwing or `timeoutMs` passes; then throws the last failure,
 * prefixed with what was awaited. For tests that wait on controllers of the real cluster.
 */
export async function eventually(
  what: string,
  check: () => Promise<void> | void,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}: ${reason}`);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
