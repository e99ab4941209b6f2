/**
 * An inbox as a busy deployment holds it: connected sessions, each with chats, each chat with
 * messages shaped as the webhook path stores them (raw payload included). Written directly: the
 * benchmark measures reading it, not writing it.
 */
import type { Prisma } from '../../src/lib/database.ts';
import { uuidv7 } from '../../src/lib/uuid.ts';

export interface SeedShape {
  sessions: number;
  chatsPerSession: number;
  messagesPerChat: number;
}

export async function seedInbox(prisma: Prisma, shape: SeedShape) {
  const start = Date.now() - 86_400_000;
  const sessions = Array.from({ length: shape.sessions }, (_, s) => ({
    id: uuidv7(start + s),
    name: `Desk ${s + 1}`,
    phoneNumber: `+25571${String(2_000_000 + s).padStart(7, '0')}`,
    status: 'CONNECTED' as const,
    lastConnectedAt: new Date(start),
  }));
  await prisma.whatsAppSession.createMany({ data: sessions });
  const chats = sessions.flatMap((session, s) =>
    Array.from({ length: shape.chatsPerSession }, (_, c) => {
      const phone = `2557${String(30_000_000 + s * 1_000 + c).padStart(8, '0')}`;
      return { id: uuidv7(start + s), sessionId: session.id, remoteJid: `${phone}@s.whatsapp.net`, phoneNumber: `+${phone}`, name: `Customer ${s}-${c}`, unreadCount: c % 4 };
    }),
  );
  await prisma.chat.createMany({ data: chats });
  let n = 0;
  const messages = chats.flatMap((chat) =>
    Array.from({ length: shape.messagesPerChat }, (_, m) => {
      n++;
      const id = `3EB0${String(n).padStart(16, '0')}`;
      const at = new Date(start + n * 1_000);
      const text = `Order ${n}: two loaves and a litre of milk, please`;
      const fromMe = m % 3 === 2;
      return {
        id: uuidv7(start + n),
        sessionId: chat.sessionId,
        chatId: chat.id,
        direction: fromMe ? ('OUTBOUND' as const) : ('INBOUND' as const),
        kind: 'TEXT' as const,
        status: fromMe ? ('READ' as const) : ('RECEIVED' as const),
        providerMessageId: id,
        fromJid: fromMe ? 'me' : chat.remoteJid,
        senderPhone: fromMe ? null : chat.phoneNumber,
        senderName: fromMe ? null : chat.name,
        text,
        raw: {
          key: { id, fromMe, remoteJid: chat.remoteJid, cleanedSenderPn: chat.phoneNumber.slice(1) },
          messageTimestamp: Math.floor(at.getTime() / 1000),
          pushName: chat.name,
          broadcast: false,
          message: { conversation: text, messageContextInfo: { deviceListMetadata: { senderKeyHash: 'q83vEjRWeJA=', senderTimestamp: '1732000000' }, deviceListMetadataVersion: 2 } },
        },
        timestamp: at,
      };
    }),
  );
  for (let i = 0; i < messages.length; i += 1_000) await prisma.message.createMany({ data: messages.slice(i, i + 1_000) });
  // Each chat's latest message, as the applier keeps it.
  await prisma.$executeRawUnsafe(
    `UPDATE chats c SET "lastMessageId" = m.id, "lastMessageSeq" = m.seq, "lastMessageAt" = m.timestamp
     FROM (SELECT DISTINCT ON ("chatId") "chatId", id, seq, timestamp FROM messages ORDER BY "chatId", seq DESC) m
     WHERE m."chatId" = c.id`,
  );
  // Planner statistics, as autovacuum gathers them on a database in service: without them
  // PostgreSQL guesses two chats per session and sorts them all rather than reading the inbox index.
  await prisma.$executeRawUnsafe('ANALYZE');
  return { sessions: sessions.length, chats: chats.length, messages: messages.length };
}
