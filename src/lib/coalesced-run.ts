/**
 * Background work run by one runner at a time per process: a wake-up while it runs makes it run
 * once more when it finishes (nothing asked for is missed, and wake-ups never pile up). The work
 * runs outside any request's context, so its log lines carry no request's id.
 */
import { outsideRequest } from './request-context.ts';

export function coalescedRunner(work: () => Promise<void>, stopped: () => boolean) {
  let running: Promise<void> | null = null;
  let again = false;
  return {
    run(): void {
      if (stopped()) return;
      if (running) {
        again = true;
        return;
      }
      running = outsideRequest(async () => {
        do {
          again = false;
          await work();
        } while (again && !stopped());
      }).finally(() => {
        running = null;
      });
    },
    /** Resolves when no run is under way. */
    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}
