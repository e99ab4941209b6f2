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

/** INVALID_STATE for something the session's status does not allow, with the status and what it does allow. */
export function invalidStateError(status: SessionStatus, message: string): DomainError {
  return new DomainError('INVALID_STATE', message, { status, allowedActions: ACTIONS[status] });
}

export function assertActionAllowed(status: SessionStatus, action: SessionAction): void {
  if (!ACTIONS[status].includes(action)) throw invalidStateError(status, `Cannot ${action.toLowerCase()} a session that is ${status}`);
}

/** The log entry type for a status change. */
export function logTypeForStatus(status: SessionStatus) {
  if (status === 'CONNECTED') return 'CONNECTED' as const;
  if (status === 'DISCONNECTED') return 'DISCONNECTED' as const;
  return 'STATUS_CHANGED' as const;
}
