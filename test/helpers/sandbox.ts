/** Stand-ins for the phone and WhatsApp users: the sandbox's control endpoints, over HTTP. */
import type { TestApp } from './app.ts';

export async function control(app: TestApp, providerSessionId: string, action: string, body: unknown = {}) {
  const res = await fetch(`${app.url}/sandbox/control/sessions/${providerSessionId}/${action}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`sandbox ${action} answered ${res.status}: ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** Makes the sandbox answer the next `count` matching API calls with a failure. */
export async function injectFault(app: TestApp, fault: { path?: string; method?: string; status?: number; count: number; delayMs?: number; body?: unknown; afterHandling?: boolean }) {
  const res = await fetch(`${app.url}/sandbox/control/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fault),
  });
  if (!res.ok) throw new Error(`fault injection answered ${res.status}`);
}

/** The provider's view of a session (with its secrets), read with the account token. */
export async function providerSession(app: TestApp, providerSessionId: string) {
  const sandbox = app.running.sandbox!;
  const res = await fetch(`${sandbox.baseUrl}/whatsapp-sessions/${providerSessionId}`, {
    headers: { authorization: `Bearer ${sandbox.token}` },
  });
  if (!res.ok) return null;
  return ((await res.json()) as { data: { api_key: string; webhook_secret: string; status: string } }).data;
}

/** What the sandbox knows of a session beyond the provider API: its read marks, among others. */
export async function sandboxState(app: TestApp, providerSessionId: string) {
  const res = await fetch(`${app.url}/sandbox/control/state`);
  const { sessions } = (await res.json()) as {
    sessions: { id: number; status: string; read_marks: { id: string; remoteJid: string }[]; reads: number; qr_fetches: number; decrypt_media_calls: number; qr: string | null; sent_messages: SandboxSend[] }[];
  };
  return sessions.find((s) => String(s.id) === providerSessionId) ?? null;
}

/** A `/send-message` call the sandbox received: its msgId, body and arrival time (ms, on the sandbox's clock). */
export interface SandboxSend {
  msg_id: number;
  to: string;
  body: Record<string, unknown>;
  received_at: number;
}

/** Every send the sandbox received for a session, in order. */
export async function sandboxSends(app: TestApp, providerSessionId: string): Promise<SandboxSend[]> {
  return (await sandboxState(app, providerSessionId))?.sent_messages ?? [];
}

/** Makes numbers not on WhatsApp: sends to them are accepted, then fail ("invalid WhatsApp number"). */
export async function notOnWhatsApp(app: TestApp, phones: string[]) {
  const res = await fetch(`${app.url}/sandbox/control/not-on-whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phones }) });
  if (!res.ok) throw new Error(`not-on-whatsapp answered ${res.status}`);
}

/** Lets every API call through again. */
export async function clearFaults(app: TestApp) {
  const res = await fetch(`${app.url}/sandbox/control/faults`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`clearing faults answered ${res.status}`);
}

/** The bytes the sandbox holds for a media message (by WhatsApp's message id), and their type. */
export async function sandboxMedia(app: TestApp, keyId: string) {
  const res = await fetch(`${app.url}/sandbox/control/media/${encodeURIComponent(keyId)}`);
  if (!res.ok) throw new Error(`sandbox media answered ${res.status}`);
  return { bytes: Buffer.from(await res.arrayBuffer()), mimetype: res.headers.get('content-type') };
}
