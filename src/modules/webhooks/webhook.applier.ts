/**
 * Turns one session's stored webhook events into domain changes, in order. Consecutive messages are
 * written in one batch (one transaction for many webhooks), and so are consecutive delivery statuses
 * (one statement); any other event first writes what is pending, so the order is kept. It stops at
 * the first event that fails, so nothing behind it goes ahead of it.
 */
import {
  normalizeWebhookEvent,
  parseWebhookEnvelope,
  type InboundMessage,
  type NormalizedWebhookEvent,
  WebhookPayloadError,
} from '../../provider/webhook-events.ts';
import type { InboxService, StatusChange } from '../inbox/inbox.service.ts';
import type { SessionService } from '../sessions/session.service.ts';
import type { SessionOutcome, StoredWebhook } from './webhook.processor.ts';

export function createWebhookApplier(deps: { sessions: SessionService; inbox: InboxService }) {
  const { sessions, inbox } = deps;

  async function applyOne(sessionId: string, item: NormalizedWebhookEvent, envelopeTimestampMs: number) {
    switch (item.type) {
      case 'session.status':
        await sessions.applyProviderStatus(sessionId, item.status, 'Webhook session.status', {
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

  /** A run of consecutive events' items of one kind, written together. */
  type Run =
    | { kind: 'messages'; items: InboundMessage[]; firstEvent: number }
    | { kind: 'statuses'; items: StatusChange[]; firstEvent: number };

  /** Thrown when a run fails: events before `firstEvent` are fully applied. */
  class RunFailed extends Error {
    constructor(
      readonly firstEvent: number,
      readonly error: unknown,
    ) {
      super('run failed');
    }
  }

  /**
   * Applies the events in order, batching runs, and stops at the first failure. Resolves to how many
   * events from the start are fully applied, and the error that stopped it.
   */
  async function applyBatched(sessionId: string, events: StoredWebhook[]): Promise<{ applied: number; error?: unknown }> {
    let run: Run | null = null;
    const flush = async () => {
      if (!run) return;
      const current: Run = run;
      run = null;
      try {
        if (current.kind === 'messages') await inbox.applyMessages(sessionId, current.items);
        else await inbox.applyStatuses(sessionId, current.items);
      } catch (error) {
        throw new RunFailed(current.firstEvent, error);
      }
    };
    /** Adds to the run; a run of the other kind is written first, so order is kept. */
    const append = async <K extends Run['kind']>(kind: K, item: Extract<Run, { kind: K }>['items'][number], index: number) => {
      if (run && run.kind !== kind) await flush();
      run ??= { kind, items: [], firstEvent: index } as Run;
      (run.items as unknown[]).push(item);
    };

    let index = 0;
    try {
      for (; index < events.length; index++) {
        const stored = events[index]!;
        const envelope = parseWebhookEnvelope(stored.payload);
        // Without the envelope's timestamp (and a message's own), the event is as old as its arrival.
        envelope.timestampMs ??= Number(stored.receivedAtMs);
        const timestampMs = envelope.timestampMs;
        const items = normalizeWebhookEvent(envelope);
        for (const item of items) {
          if (item.type === 'message') await append('messages', item.message, index);
          else if (item.type === 'message.status') {
            await append('statuses', { id: item.key.id, status: item.status === 'ERROR' ? 'FAILED' : item.status }, index);
          } else if (item.type === 'message.receipt') {
            // Group receipts are per member; the message counts as delivered/read once anyone has.
            await append('statuses', { id: item.key.id, status: item.status }, index);
          } else {
            await flush();
            await applyOne(sessionId, item, timestampMs);
          }
        }
      }
      await flush();
      return { applied: events.length };
    } catch (error) {
      if (error instanceof RunFailed) return { applied: error.firstEvent, error: error.error };
      // The event at `index` failed; a run it is part of was not written, so neither was its start.
      return { applied: (run as Run | null)?.firstEvent ?? index, error };
    }
  }

  /**
   * Applies one session's events in order and stops at the first that fails: `applied` events from
   * the start are done, and `failure` (if any) is that of the next one.
   */
  return async function applySession(sessionId: string, events: StoredWebhook[]): Promise<SessionOutcome> {
    const batched = await applyBatched(sessionId, events);
    if (batched.error === undefined) return { applied: batched.applied };
    // A failed run names no single event: find it by applying the rest one at a time. Writing an
    // event again is harmless (messages are unique by id, statuses only move forward).
    for (let i = batched.applied; i < events.length; i++) {
      const single = await applyBatched(sessionId, [events[i]!]);
      if (single.error !== undefined) {
        const error = single.error instanceof Error ? single.error : new Error(String(single.error));
        return { applied: i, failure: { error, permanent: error instanceof WebhookPayloadError } };
      }
    }
    return { applied: events.length };
  };
}
