/** Small pieces every screen uses: links, badges, times, the signed-in context. */
import { createContext, type ComponentChildren } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api.ts';
import type { Role, SessionAction, SessionStatus } from './generated/graphql.ts';
import { followLink } from './router.ts';

export interface Access {
  role: Role;
  allSessions: boolean;
  /** Create, connect, change and delete sessions. */
  manage: boolean;
  /** Work the inbox (reply, mark read) and run bulk sends. */
  act: boolean;
}

export interface Signed {
  api: Api;
  access: Access;
}

export const SignedIn = createContext<Signed | null>(null);

export function useSigned(): Signed {
  const signed = useContext(SignedIn);
  if (!signed) throw new Error('useSigned outside a signed-in screen');
  return signed;
}

export function accessFor(viewer: { role: Role; allSessions: boolean }): Access {
  return { ...viewer, manage: viewer.role === 'ADMIN', act: viewer.role === 'ADMIN' || viewer.role === 'AGENT' };
}

export const STATUS_LABELS: Record<SessionStatus, string> = {
  CONNECTED: 'Connected',
  CONNECTING: 'Connecting',
  QR_READY: 'QR ready',
  DISCONNECTED: 'Disconnected',
  LOGGED_OUT: 'Logged out',
  EXPIRED: 'Expired',
};

export const ACTION_LABELS: Record<SessionAction, string> = {
  CONNECT: 'Connect',
  DISCONNECT: 'Disconnect',
  RESTART: 'Restart',
  DELETE: 'Delete',
};

/** The status as text in its colour; `live` makes it announce its changes (one per screen). */
export function StatusBadge({ status, live }: { status: SessionStatus; live?: boolean }) {
  return (
    <span class={`badge badge-${status.toLowerCase().replace('_', '-')}`} role={live ? 'status' : undefined}>
      {STATUS_LABELS[status]}
    </span>
  );
}

export function Link({ href, children, ...rest }: { href: string; children: ComponentChildren; class?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a href={href} onClick={(event) => followLink(event, href)} {...rest}>
      {children}
    </a>
  );
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });

/** A time for a list: the clock time today, the day before that. */
export function Time({ value, full }: { value: string; full?: boolean }) {
  const date = new Date(value);
  const today = new Date().toDateString() === date.toDateString();
  const text = full ? dateTimeFormat.format(date) : today ? timeFormat.format(date) : dayFormat.format(date);
  return (
    <time dateTime={value} title={dateTimeFormat.format(date)}>
      {text}
    </time>
  );
}

export function Alert({ children }: { children: ComponentChildren }) {
  return (
    <p class="alert" role="alert">
      {children}
    </p>
  );
}
