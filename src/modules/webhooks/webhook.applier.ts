/**
 * Turns stored webhook events into domain changes. Messages of consecutive events are written in
 * one batch per session (one transaction for many webhooks); any other event of that session first
 * flushes what is pending, so each session's order is kept.
 */
import type { Logger } from '../../lib/logger.ts';
import {
  normalizeWebhookEvent,
  parseWebhookEnvelope,
  type InboundMessage,
  type NormalizedWebhookEvent,
} from '../../provider/webhook-events.ts';
import type { InboxService } from '../inbox/inbox.service.ts';
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
      case 'message.status':
        await inbox.applyStatus(sessionId, item.key, item.status === 'ERROR' ? 'FAILED' : item.status);
        return;
      case 'message.receipt':
        // Group receipts are per member; the message counts as delivered/read once anyone has.
        await inbox.applyStatus(sessionId, item.key, item.status);
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
        throw new Error('messages are applied in batches');
    }
  }

  return async function apply(events: StoredWebhook[]): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    const pending = new Map<string, { messages: InboundMessage[]; eventIds: string[] }>();

    const flush = async (sessionId: string) => {
      const batch = pending.get(sessionId);
      if (!batch) return;
      pending.delete(sessionId);
      try {
        await inbox.applyMessages(sessionId, batch.messages);
      } catch (error) {
        for (const id of batch.eventIds) failures.set(id, error as Error);
      }
    };

    for (const stored of events) {
      if (!stored.sessionId) continue;
      const sessionId = stored.sessionId;
      try {
        const envelope = parseWebhookEnvelope(stored.payload);
        const items = normalizeWebhookEvent(envelope);
        const timestampMs = envelope.timestampMs ?? Date.now();
        const messages = items.flatMap((i) => (i.type === 'message' ? [i.message] : []));
        if (messages.length) {
          const batch = pending.get(sessionId) ?? { messages: [], eventIds: [] };
          batch.messages.push(...messages);
          batch.eventIds.push(stored.id);
          pending.set(sessionId, batch);
        }
        const others = items.filter((i) => i.type !== 'message');
        if (others.length) {
          await flush(sessionId);
          for (const item of others) await applyOne(sessionId, item, timestampMs);
        }
      } catch (error) {
        logger.warn('webhook event could not be applied', { webhookEventId: stored.id, event: stored.event, error: String(error) });
        failures.set(stored.id, error as Error);
      }
    }
    for (const sessionId of [...pending.keys()]) await flush(sessionId);
    return failures;
  };
}
