/** Injected failures: the next matching API calls fail with a status, stall, or lose their answer (control `/faults`). */
import { HttpError } from './http.ts';

export interface Fault {
  path?: string;
  method?: string;
  status?: number;
  count: number;
  delayMs?: number;
  body?: unknown;
  /** The call is handled as usual, then its answer is lost: the connection is cut (or `status` answered instead). */
  afterHandling?: boolean;
}

export function createFaults() {
  let faults: Fault[] = [];
  return {
    /** Adds a fault from a control body; answers how many are pending. */
    add(body: Record<string, unknown>): number {
      const count = Number(body.count ?? 1);
      if (!Number.isInteger(count) || count < 1) throw new HttpError(422, { message: 'count must be a positive integer' });
      faults.push({
        path: typeof body.path === 'string' ? body.path : undefined,
        method: typeof body.method === 'string' ? body.method.toUpperCase() : undefined,
        status: typeof body.status === 'number' ? body.status : undefined,
        delayMs: typeof body.delayMs === 'number' ? body.delayMs : undefined,
        body: body.body,
        afterHandling: body.afterHandling === true,
        count,
      });
      return faults.length;
    },
    clear() {
      faults = [];
    },
    /** The first fault matching this call, used up by one. */
    take(method: string, path: string): Fault | null {
      const fault = faults.find((f) => (!f.method || f.method === method) && (!f.path || path.startsWith(f.path)));
      if (!fault) return null;
      fault.count--;
      if (fault.count <= 0) faults = faults.filter((f) => f !== fault);
      return fault;
    },
  };
}

export type Faults = ReturnType<typeof createFaults>;
