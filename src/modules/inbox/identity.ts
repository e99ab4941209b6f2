/**
 * One person, one chat. WhatsApp addresses a person by phone number (`<digits>@s.whatsapp.net`) or
 * by a hidden id (`<digits>@lid`); the inbox keys a person's chat and contact by the phone JID
 * whenever the pair is known. Pairs come from the messages themselves (`senderPn`, `participantPn`
 * and their cleaned forms beside the lid), from contacts we remember, and last from the provider's
 * `pn-from-lid`, asked outside any transaction. When a pair becomes known, a chat or contact kept
 * under the lid is merged into the phone one.
 */
import { SQL_UTC_NOW, type Prisma } from '../../lib/database.ts';
import type { RawExecutor } from '../../lib/plain-sql.ts';
import type { Logger } from '../../lib/logger.ts';
import { phoneFromJid, type InboundMessage } from '../../provider/webhook-events.ts';
import type { WasenderClient } from '../../provider/wasender-client.ts';
import type { SessionService } from '../sessions/session.service.ts';
import { recomputeTurns } from '../monitoring/response-turns.ts';

type Executor = RawExecutor;

/** Provider answers kept per process (a lid's phone never changes); enough for a busy account's contacts. */
const LOOKUP_CACHE_LIMIT = 50_000;

export function isLidJid(jid: string | null | undefined): jid is string {
  return !!jid && jid.endsWith('@lid');
}

export function phoneJidOf(phone: string): string {
  return `${phone.replace(/^\+/, '')}@s.whatsapp.net`;
}

/** lid JID → phone JID, for the lids a batch involves. */
export type LidPairs = Map<string, string>;

/** Where a message belongs once lids are resolved: its chat, its sender's contact and phone. */
export function identityOf(m: InboundMessage, pairs: LidPairs) {
  const personal = !m.isGroup && !m.isNewsletter && !m.isBroadcast;
  const chatJid = personal && isLidJid(m.chatJid) ? (pairs.get(m.chatJid) ?? m.chatJid) : m.chatJid;
  if (m.fromMe) return { chatJid, contactJid: null, senderPhone: null, senderLid: null };
  const lid = isLidJid(m.senderLid) ? m.senderLid : null;
  const pairedPhone = lid ? pairs.get(lid) : undefined;
  const senderPhone = m.senderPhone ?? (pairedPhone ? phoneFromJid(pairedPhone) : null);
  const rawSender = m.isGroup ? m.senderJid : m.chatJid;
  const contactJid = senderPhone ? phoneJidOf(senderPhone) : rawSender;
  return { chatJid, contactJid, senderPhone, senderLid: lid };
}

export function createIdentityResolver(deps: { prisma: Prisma; provider: WasenderClient; sessions: SessionService; logger: Logger }) {
  const { prisma, logger } = deps;
  /** `${sessionId} ${lid}` → the phone JID, or null when the provider did not know it. */
  const asked = new Map<string, string | null>();

  function remember(key: string, value: string | null) {
    if (asked.size >= LOOKUP_CACHE_LIMIT) asked.delete(asked.keys().next().value!);
    asked.set(key, value);
  }

  /** Asks the provider for lids nothing else resolved; each lid at most once per process. */
  async function askProvider(sessionId: string, lids: string[], pairs: LidPairs) {
    const unasked = lids.filter((lid) => {
      const known = asked.get(`${sessionId} ${lid}`);
      if (known) pairs.set(lid, known);
      return known === undefined;
    });
    if (unasked.length === 0) return;
    const session = await prisma.whatsAppSession.findUnique({ where: { id: sessionId } });
    const apiKey = session ? deps.sessions.apiKeyOf(session) : null;
    if (!apiKey) return;
    const client = deps.provider.session(apiKey);
    for (const lid of unasked) {
      let phoneJid: string | null = null;
      try {
        const phone = phoneFromJid(await client.pnFromLid(lid));
        phoneJid = phone ? phoneJidOf(phone) : null;
      } catch (error) {
        // Not fatal: the message is kept under the lid until a later one reveals the phone.
        logger.warn({ sessionId, lid, err: error }, 'pn-from-lid failed; the chat stays under the lid');
      }
      remember(`${sessionId} ${lid}`, phoneJid);
      if (phoneJid) pairs.set(lid, phoneJid);
    }
  }

  return {
    /** The phone JID remembered for a lid (contacts only, no provider call), or the JID itself. */
    async knownJid(sessionId: string, jid: string): Promise<string> {
      if (!isLidJid(jid)) return jid;
      const [known] = await prisma.$queryRawUnsafe<{ phoneNumber: string }[]>(
        `SELECT "phoneNumber" FROM contacts WHERE "sessionId" = $1::uuid AND lid = $2 AND "phoneNumber" IS NOT NULL LIMIT 1`,
        sessionId,
        jid,
      );
      return known ? phoneJidOf(known.phoneNumber) : jid;
    },

    /**
     * The lid↔phone pairs a batch needs: from the batch itself, then remembered contacts, then the
     * provider. Call it before the inserting transaction (it may call the provider).
     */
    async resolve(sessionId: string, messages: InboundMessage[]): Promise<LidPairs> {
      const pairs: LidPairs = new Map();
      for (const m of messages) {
        if (!m.fromMe && isLidJid(m.senderLid) && m.senderPhone) pairs.set(m.senderLid, phoneJidOf(m.senderPhone));
      }
      const wanted = new Set<string>();
      for (const m of messages) {
        const personal = !m.isGroup && !m.isNewsletter && !m.isBroadcast;
        if (personal && isLidJid(m.chatJid)) wanted.add(m.chatJid);
        if (!m.fromMe && isLidJid(m.senderLid) && !m.senderPhone) wanted.add(m.senderLid);
      }
      for (const lid of pairs.keys()) wanted.delete(lid);
      if (wanted.size === 0) return pairs;

      const known = await prisma.$queryRawUnsafe<{ lid: string; phoneNumber: string }[]>(
        `SELECT lid, "phoneNumber" FROM contacts WHERE "sessionId" = $1::uuid AND lid = ANY($2::text[]) AND "phoneNumber" IS NOT NULL`,
        sessionId,
        [...wanted],
      );
      for (const c of known) {
        pairs.set(c.lid, phoneJidOf(c.phoneNumber));
        wanted.delete(c.lid);
      }
      if (wanted.size) await askProvider(sessionId, [...wanted], pairs);
      return pairs;
    },
  };
}

export type IdentityResolver = ReturnType<typeof createIdentityResolver>;

interface ChatRow {
  id: string;
  remoteJid: string;
  name: string | null;
  contactId: string | null;
  unreadCount: number;
  lastMessageAt: Date | string | null;
  lastMessageId: string | null;
  lastMessageSeq: bigint | number | string | null;
}

/** What a merge changed, to publish after commit. */
export interface MergeOutcome {
  deletedChatIds: string[];
  updatedChatIds: string[];
}

/**
 * Moves what is kept under a lid to its phone JID, in the caller's transaction: a contact is renamed
 * or folded into the phone contact; a chat is renamed, or its messages (same seq, so cursors hold)
 * join the phone chat, unread counts add up, the later last message wins, and the lid chat goes.
 */
export async function mergeLidPairs(tx: Executor, sessionId: string, pairs: LidPairs, opts: { rememberLids?: boolean } = {}): Promise<MergeOutcome> {
  const outcome: MergeOutcome = { deletedChatIds: [], updatedChatIds: [] };
  if (pairs.size === 0) return outcome;
  const lids = [...pairs.keys()];
  // Mostly nothing is kept under a lid (the pair was known before): one look then, not three statements.
  const [kept] = await tx.$queryRawUnsafe<unknown[]>(
    `SELECT 1 FROM contacts WHERE "sessionId" = $1::uuid AND jid = ANY($2::text[])
     UNION ALL SELECT 1 FROM chats WHERE "sessionId" = $1::uuid AND "remoteJid" = ANY($2::text[]) LIMIT 1`,
    sessionId,
    lids,
  );
  if (!kept) {
    if (opts.rememberLids ?? true) {
      const params: unknown[] = [];
      await tx.$executeRawUnsafe(rememberLidsSql(sessionId, pairs, params), ...params);
    }
    return outcome;
  }
  await mergeContacts(tx, sessionId, pairs, lids);

  const chats = await tx.$queryRawUnsafe<ChatRow[]>(
    `SELECT id, "remoteJid", name, "contactId", "unreadCount", "lastMessageAt", "lastMessageId", "lastMessageSeq"
     FROM chats WHERE "sessionId" = $1::uuid AND "remoteJid" = ANY($2::text[])`,
    sessionId,
    [...lids, ...pairs.values()],
  );
  const byJid = new Map(chats.map((c) => [c.remoteJid, c]));
  for (const [lid, phoneJid] of pairs) {
    const lidChat = byJid.get(lid);
    if (!lidChat) continue;
    const phoneChat = byJid.get(phoneJid);
    if (!phoneChat) {
      await tx.$executeRawUnsafe(
        `UPDATE chats SET "remoteJid" = $2, "phoneNumber" = $3, "updatedAt" = ${SQL_UTC_NOW} WHERE id = $1::uuid`,
        lidChat.id,
        phoneJid,
        phoneFromJid(phoneJid),
      );
      outcome.updatedChatIds.push(lidChat.id);
      continue;
    }
    const lidIsLater = laterLast(lidChat, phoneChat);
    const [moved] = await tx.$queryRawUnsafe<{ since: Date | string | null }[]>(
      `WITH moved AS (UPDATE messages SET "chatId" = $2::uuid WHERE "chatId" = $1::uuid RETURNING timestamp) SELECT min(timestamp) AS since FROM moved`,
      lidChat.id,
      phoneChat.id,
    );
    if (moved?.since) await recomputeTurns(tx, [{ chatId: phoneChat.id, since: new Date(moved.since) }]);
    // Deleted first: the last message id is unique across chats.
    await tx.$executeRawUnsafe(`DELETE FROM chats WHERE id = $1::uuid`, lidChat.id);
    await tx.$executeRawUnsafe(
      `UPDATE chats SET "unreadCount" = "unreadCount" + $2::int,
         name = COALESCE(name, $3), "contactId" = COALESCE("contactId", $4::uuid),
         "lastMessageAt" = CASE WHEN $5::boolean THEN $6::timestamp(3) ELSE "lastMessageAt" END,
         "lastMessageId" = CASE WHEN $5::boolean THEN $7::uuid ELSE "lastMessageId" END,
         "lastMessageSeq" = CASE WHEN $5::boolean THEN $8::bigint ELSE "lastMessageSeq" END,
         "updatedAt" = ${SQL_UTC_NOW}
       WHERE id = $1::uuid`,
      phoneChat.id,
      lidChat.unreadCount,
      lidChat.name,
      lidChat.contactId,
      lidIsLater,
      lidChat.lastMessageAt === null ? null : new Date(lidChat.lastMessageAt).toISOString(),
      lidChat.lastMessageId,
      lidChat.lastMessageSeq === null ? null : String(lidChat.lastMessageSeq),
    );
    outcome.deletedChatIds.push(lidChat.id);
    outcome.updatedChatIds.push(phoneChat.id);
  }
  return outcome;
}

/** Whether chat `a`'s last message comes after `b`'s (time, then commit order). */
function laterLast(a: ChatRow, b: ChatRow): boolean {
  if (a.lastMessageAt === null) return false;
  if (b.lastMessageAt === null) return true;
  const at = new Date(a.lastMessageAt).getTime();
  const bt = new Date(b.lastMessageAt).getTime();
  if (at !== bt) return at > bt;
  return BigInt(a.lastMessageSeq ?? 0) > BigInt(b.lastMessageSeq ?? 0);
}

async function mergeContacts(tx: Executor, sessionId: string, pairs: LidPairs, lids: string[]) {
  const lidContacts = await tx.$queryRawUnsafe<{ id: string; jid: string }[]>(
    `SELECT id, jid FROM contacts WHERE "sessionId" = $1::uuid AND jid = ANY($2::text[])`,
    sessionId,
    lids,
  );
  for (const lidContact of lidContacts) {
    const phoneJid = pairs.get(lidContact.jid)!;
    const [phoneContact] = await tx.$queryRawUnsafe<{ id: string }[]>(
      `SELECT id FROM contacts WHERE "sessionId" = $1::uuid AND jid = $2`,
      sessionId,
      phoneJid,
    );
    if (phoneContact) {
      await tx.$executeRawUnsafe(
        `UPDATE contacts p SET name = COALESCE(p.name, l.name), "pushName" = COALESCE(p."pushName", l."pushName"),
           "verifiedName" = COALESCE(p."verifiedName", l."verifiedName"), "imgUrl" = COALESCE(p."imgUrl", l."imgUrl"),
           "updatedAt" = ${SQL_UTC_NOW}
         FROM contacts l WHERE p.id = $1::uuid AND l.id = $2::uuid`,
        phoneContact.id,
        lidContact.id,
      );
      await tx.$executeRawUnsafe(`UPDATE chats SET "contactId" = $1::uuid WHERE "contactId" = $2::uuid`, phoneContact.id, lidContact.id);
      await tx.$executeRawUnsafe(`DELETE FROM contacts WHERE id = $1::uuid`, lidContact.id);
    } else {
      await tx.$executeRawUnsafe(`UPDATE contacts SET jid = $2, "updatedAt" = ${SQL_UTC_NOW} WHERE id = $1::uuid`, lidContact.id, phoneJid);
    }
  }
  const params: unknown[] = [];
  await tx.$executeRawUnsafe(rememberLidsSql(sessionId, pairs, params), ...params);
}

/**
 * Every phone contact remembers its lid (and its phone number), so later lid-only messages resolve
 * without asking: the UPDATE, its parameters appended to `params` (it may be part of a larger statement).
 */
export function rememberLidsSql(sessionId: string, pairs: LidPairs, params: unknown[]): string {
  const p = (value: unknown) => `$${params.push(value)}`;
  const session = p(sessionId);
  return `UPDATE contacts c SET lid = u.lid, "phoneNumber" = COALESCE(c."phoneNumber", u.phone), "updatedAt" = ${SQL_UTC_NOW}
     FROM unnest(${p([...pairs.values()])}::text[], ${p([...pairs.keys()])}::text[], ${p([...pairs.values()].map((jid) => phoneFromJid(jid)))}::text[]) AS u(jid, lid, phone)
     WHERE c."sessionId" = ${session}::uuid AND c.jid = u.jid AND (c.lid IS DISTINCT FROM u.lid OR c."phoneNumber" IS NULL)`;
}
