-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "deliveredAt" TIMESTAMP(3),
ADD COLUMN     "failedAt" TIMESTAMP(3),
ADD COLUMN     "readAt" TIMESTAMP(3),
ADD COLUMN     "sentAt" TIMESTAMP(3);

-- Messages stored before: an outbound message that got past PENDING was sent at its own time (later
-- milestones' times are not known, so they give no delivery time).
UPDATE "messages" SET "sentAt" = "timestamp"
WHERE "direction" = 'OUTBOUND' AND "status" IN ('SENT', 'DELIVERED', 'READ', 'PLAYED');

-- CreateTable
CREATE TABLE "session_counters" (
    "sessionId" UUID NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
    "name" TEXT NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "session_counters_pkey" PRIMARY KEY ("sessionId","hour","name")
);

-- CreateIndex
CREATE INDEX "messages_sessionId_direction_timestamp_idx" ON "messages"("sessionId", "direction", "timestamp");

-- CreateIndex
CREATE INDEX "messages_chatId_timestamp_seq_idx" ON "messages"("chatId", "timestamp", "seq");

-- CreateIndex
CREATE INDEX "session_logs_sessionId_createdAt_idx" ON "session_logs"("sessionId", "createdAt");

-- AddForeignKey
ALTER TABLE "session_counters" ADD CONSTRAINT "session_counters_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
