/** Which actions each status allows: the provider's rules, checked before any provider call. */
import type { SessionStatus } from '../../generated/prisma/enums.ts';
import { DomainError } from '../../lib/errors.ts';

export type SessionAction = 'CONNECT' | 'DISCONNECT' | 'RESTART' | 'DELETE';

const ACTIONS: Record<SessionStatus, SessionAction[]> = {
  CONNECTED: ['DISCONNECT', 'RESTART', 'DELETE'],
  QR_READY: ['CONNECT', 'DISCONNECT', 'DELETE'],
  CONNECTING: ['CONNECT', 'DISCONNECT', 'DELETE'],
  DISCONNECTED: ['CONNECT', 'DELETE'],
  LOGGED_OUT: ['CONNECT', 'DELETE'],
  EXPIRED: ['CONNECT', 'DELETE'],
};

export function availableActions(status: SessionStatus): SessionAction[] {
  return ACTIONS[status];
}

export function assertActionAllowed(status: SessionStatus, action: SessionAction): void {
  const allowed = ACTIONS[status];
  if (!allowed.includes(action)) {
    throw new DomainError('INVALID_STATE', `Cannot ${action.toLowerCase()} a session that is ${status}`, {
      status,
      allowedActions: allowed,
    });
  }
}

/** The log entry type for a status change. */
export function logTypeForStatus(status: SessionStatus) {
  if (status === 'CONNECTED') return 'CONNECTED' as const;
  if (status === 'DISCONNECTED') return 'DISCONNECTED' as const;
  return 'STATUS_CHANGED' as const;
}
