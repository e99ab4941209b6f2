-- DropIndex
DROP INDEX "outbox_messages_sessionId_status_nextAttemptAt_idx";
