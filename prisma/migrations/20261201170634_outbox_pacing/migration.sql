-- AlterEnum
ALTER TYPE "OutboxStatus" ADD VALUE 'UNKNOWN';

-- AlterTable
ALTER TABLE "outbox_messages" ADD COLUMN     "attemptedAt" TIMESTAMP(3),
ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- CreateTable
CREATE TABLE "outbox_session_states" (
    "sessionId" UUID NOT NULL,
    "nextSendAt" TIMESTAMP(3) NOT NULL,
    "claimedUntil" TIMESTAMP(3),
    "claimToken" UUID,

    CONSTRAINT "outbox_session_states_pkey" PRIMARY KEY ("sessionId")
);

-- CreateIndex
CREATE UNIQUE INDEX "outbox_messages_seq_key" ON "outbox_messages"("seq");

-- CreateIndex
CREATE INDEX "outbox_messages_sessionId_status_seq_idx" ON "outbox_messages"("sessionId", "status", "seq");

-- AddForeignKey
ALTER TABLE "outbox_session_states" ADD CONSTRAINT "outbox_session_states_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;
