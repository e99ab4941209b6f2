/**
 * Turns stored webhook events into domain changes. Consecutive messages of a session are written
 * in one batch (one transaction for many webhooks), and so are consecutive delivery statuses (one
 * statement); any other event of that session first writes what is pending, so each session's
 * order is kept.
 */
import type { Logger } from '../../lib/logger.ts';
import {
  normalizeWebhookEvent,
  parseWebhookEnvelope,
  type InboundMessage,
  type NormalizedWebhookEvent,
} from '../../provider/webhook-events.ts';
import type { InboxService, StatusChange } from '../inbox/inbox.service.ts';
import type { SessionService } from '../sessions/session.service.ts';
import type { StoredWebhook } from './webhook.processor.ts';

export function createWebhookApplier(deps: { sessions: SessionService; inbox: InboxService; logger: Logger }) {
  const { sessions, inbox, logger } = deps;

  async function applyOne(sessionId: string, item: NormalizedWebhookEvent, envelopeTimestampMs: number) {
    switch (item.type) {
      case 'session.status':
        await sessions.applyStatus(sessionId, sessions.mapProviderStatus(item.status), {
          message: `Provider reported status ${item.status}${item.reason ? ` (${item.reason})` : ''}`,
        });
        return;
      case 'qrcode.updated':
        await sessions.applyQr(sessionId, item.qr);
        return;
      case 'message.sent':
        await inbox.applySent(sessionId, item.key, item.success, item.message);
        return;
      case 'message.deleted':
        await inbox.applyDeleted(sessionId, item.key, envelopeTimestampMs);
        return;
      case 'message.reaction':
        await inbox.applyReaction(sessionId, item.key, item.text, item.senderJid ?? item.key.remoteJid);
        return;
      case 'poll.results':
        await inbox.applyPollResults(sessionId, item.key, item.results);
        return;
      case 'chat.upsert':
      case 'chat.update':
        await inbox.upsertChats(sessionId, [item.chat]);
        return;
      case 'chat.delete':
        await inbox.deleteChat(sessionId, item.jid);
        return;
      case 'contact.upsert':
      case 'contact.update':
        await inbox.upsertContacts(sessionId, [item.contact]);
        return;
      case 'group.upsert':
      case 'group.update':
        await inbox.renameGroup(sessionId, item.group.jid, item.group.subject);
        return;
      case 'group.participants':
      case 'call':
      case 'unknown':
        // Stored as received; nothing in the inbox depends on them.
        return;
      case 'message':
      case 'message.status':
      case 'message.receipt':
        throw new Error('messages and delivery statuses are applied in batches');
    }
  }

  /** A run of consecutive events of one session that are written together. */
  type Run =
    | { kind: 'messages'; items: InboundMessage[]; eventIds: string[] }
    | { kind: 'statuses'; items: StatusChange[]; eventIds: string[] };

  return async function apply(events: StoredWebhook[]): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    const runs = new Map<string, Run>();

    const flush = async (sessionId: string) => {
      const run = runs.get(sessionId);
      if (!run) return;
      runs.delete(sessionId);
      try {
        if (run.kind === 'messages') await inbox.applyMessages(sessionId, run.items);
        else await inbox.applyStatuses(sessionId, run.items);
      } catch (error) {
        for (const id of run.eventIds) failures.set(id, error as Error);
      }
    };

    /** Adds to the session's run; a run of the other kind is written first, so order is kept. */
    const append = async <K extends Run['kind']>(sessionId: string, kind: K, items: Extract<Run, { kind: K }>['items'], eventId: string) => {
      if (runs.get(sessionId)?.kind !== kind) await flush(sessionId);
      const run = runs.get(sessionId) ?? ({ kind, items: [], eventIds: [] } as unknown as Run);
      (run.items as unknown[]).push(...items);
      run.eventIds.push(eventId);
      runs.set(sessionId, run);
    };

    for (const stored of events) {
      if (!stored.sessionId) continue;
      const sessionId = stored.sessionId;
      try {
        const envelope = parseWebhookEnvelope(stored.payload);
        const timestampMs = envelope.timestampMs ?? Date.now();
        for (const item of normalizeWebhookEvent(envelope)) {
          if (item.type === 'message') await append(sessionId, 'messages', [item.message], stored.id);
          else if (item.type === 'message.status') {
            await append(sessionId, 'statuses', [{ id: item.key.id, status: item.status === 'ERROR' ? 'FAILED' : item.status }], stored.id);
          } else if (item.type === 'message.receipt') {
            // Group receipts are per member; the message counts as delivered/read once anyone has.
            await append(sessionId, 'statuses', [{ id: item.key.id, status: item.status }], stored.id);
          } else {
            await flush(sessionId);
            await applyOne(sessionId, item, timestampMs);
          }
        }
      } catch (error) {
        logger.warn({ webhookEventId: stored.id, event: stored.event, err: error }, 'webhook event could not be applied');
        failures.set(stored.id, error as Error);
      }
    }
    for (const sessionId of [...runs.keys()]) await flush(sessionId);
    return failures;
  };
}
