/** The sandbox's timers on the injected clock, all cancelled at once when the sandbox closes. */
import type { Clock, TimerHandle } from '../lib/clock.ts';

export interface Scheduler {
  later(ms: number, fn: () => void): TimerHandle;
  cancel(handle: TimerHandle | null): void;
  close(): void;
}

export function createScheduler(clock: Clock): Scheduler {
  const timers = new Set<TimerHandle>();
  let closed = false;
  return {
    later(ms, fn) {
      const handle = clock.setTimeout(() => {
        timers.delete(handle);
        if (!closed) fn();
      }, ms);
      timers.add(handle);
      return handle;
    },
    cancel(handle) {
      if (!handle) return;
      clock.clearTimeout(handle);
      timers.delete(handle);
    },
    close() {
      closed = true;
      for (const t of timers) clock.clearTimeout(t);
      timers.clear();
    },
  };
}
