-- DropIndex
DROP INDEX "webhook_events_processedAt_seq_idx";

-- AlterTable
ALTER TABLE "webhook_events" DROP COLUMN "claimedUntil",
ADD COLUMN     "parkedAt" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "webhook_session_leases" (
    "sessionId" UUID NOT NULL,
    "claimedUntil" TIMESTAMP(3),
    "claimToken" UUID,

    CONSTRAINT "webhook_session_leases_pkey" PRIMARY KEY ("sessionId")
);

-- CreateTable
CREATE TABLE "pending_message_statuses" (
    "sessionId" UUID NOT NULL,
    "providerMessageId" TEXT NOT NULL,
    "status" "MessageStatus" NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "pending_message_statuses_pkey" PRIMARY KEY ("sessionId","providerMessageId")
);

-- CreateIndex
CREATE INDEX "pending_message_statuses_receivedAt_idx" ON "pending_message_statuses"("receivedAt");

-- CreateIndex
CREATE INDEX "webhook_events_processedAt_sessionId_seq_idx" ON "webhook_events"("processedAt", "sessionId", "seq");

-- AddForeignKey
ALTER TABLE "webhook_session_leases" ADD CONSTRAINT "webhook_session_leases_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pending_message_statuses" ADD CONSTRAINT "pending_message_statuses_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
