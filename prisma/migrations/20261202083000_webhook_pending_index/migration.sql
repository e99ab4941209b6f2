-- Ingest writes every webhook event twice (stored, then marked applied) and every message once;
-- each write goes into every index of the row. Marking an event applied sets "processedAt", which
-- the pending index held, so the update could never stay on its page (HOT) and wrote a new entry
-- into all five indexes. Now only pending events are in the pending index (an applied one is not
-- written into it again), "seq" is no longer unique (nothing looks an event up by it), and the
-- two message indexes of columns only outbound messages set leave out the rows without them.
-- Prisma's schema cannot say WHERE: the schema keeps the same columns and names.

-- DropIndex
DROP INDEX "webhook_events_processedAt_sessionId_seq_idx";

-- DropIndex
DROP INDEX "webhook_events_seq_key";

-- CreateIndex
CREATE INDEX "webhook_events_sessionId_seq_idx" ON "webhook_events"("sessionId", "seq") WHERE "processedAt" IS NULL;

-- DropIndex
DROP INDEX "messages_sessionId_idempotencyKey_key";

-- CreateIndex
CREATE UNIQUE INDEX "messages_sessionId_idempotencyKey_key" ON "messages"("sessionId", "idempotencyKey") WHERE "idempotencyKey" IS NOT NULL;

-- DropIndex
DROP INDEX "messages_sessionId_providerMsgId_idx";

-- CreateIndex
CREATE INDEX "messages_sessionId_providerMsgId_idx" ON "messages"("sessionId", "providerMsgId") WHERE "providerMsgId" IS NOT NULL;
