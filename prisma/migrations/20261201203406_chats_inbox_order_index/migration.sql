-- The inbox lists a session's chats by "lastMessageSeq" DESC NULLS LAST, "id" DESC: an index in
-- exactly that order lets PostgreSQL read a page of them instead of sorting every chat of the
-- session (and building each one's JSON) first. Prisma's schema cannot say NULLS LAST.

-- DropIndex
DROP INDEX "chats_sessionId_lastMessageSeq_id_idx";

-- CreateIndex
CREATE INDEX "chats_sessionId_lastMessageSeq_id_idx" ON "chats"("sessionId", "lastMessageSeq" DESC NULLS LAST, "id" DESC);
