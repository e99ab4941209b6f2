-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "SessionStatus" AS ENUM ('DISCONNECTED', 'CONNECTING', 'QR_READY', 'CONNECTED', 'LOGGED_OUT', 'EXPIRED');

-- CreateEnum
CREATE TYPE "SessionLogType" AS ENUM ('CREATED', 'UPDATED', 'CONNECT_REQUESTED', 'QR_GENERATED', 'CONNECTED', 'DISCONNECTED', 'RESTARTED', 'STATUS_CHANGED', 'API_KEY_ROTATED', 'ERROR', 'DELETED');

-- CreateEnum
CREATE TYPE "MessageDirection" AS ENUM ('INBOUND', 'OUTBOUND');

-- CreateEnum
CREATE TYPE "MessageStatus" AS ENUM ('PENDING', 'SENT', 'DELIVERED', 'READ', 'PLAYED', 'FAILED', 'RECEIVED');

-- CreateEnum
CREATE TYPE "MessageKind" AS ENUM ('TEXT', 'IMAGE', 'VIDEO', 'AUDIO', 'DOCUMENT', 'STICKER', 'LOCATION', 'CONTACT', 'POLL', 'REACTION', 'OTHER');

-- CreateEnum
CREATE TYPE "ApiTokenRole" AS ENUM ('ADMIN', 'AGENT', 'VIEWER');

-- CreateEnum
CREATE TYPE "BulkSendStatus" AS ENUM ('QUEUED', 'RUNNING', 'PAUSED', 'COMPLETED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "OutboxStatus" AS ENUM ('QUEUED', 'SENDING', 'SENT', 'FAILED', 'CANCELLED');

-- CreateTable
CREATE TABLE "whatsapp_sessions" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "phoneNumber" TEXT NOT NULL,
    "status" "SessionStatus" NOT NULL DEFAULT 'DISCONNECTED',
    "accountProtection" BOOLEAN NOT NULL DEFAULT true,
    "logMessages" BOOLEAN NOT NULL DEFAULT true,
    "autoReadMessages" BOOLEAN NOT NULL DEFAULT false,
    "autoRejectCalls" BOOLEAN NOT NULL DEFAULT false,
    "providerSessionId" TEXT,
    "apiKeyEncrypted" TEXT,
    "apiKeyHash" TEXT,
    "webhookSecretEncrypted" TEXT,
    "webhookUrl" TEXT,
    "lastConnectedAt" TIMESTAMP(3),
    "qrCode" TEXT,
    "qrExpiresAt" TIMESTAMP(3),
    "connectStartedAt" TIMESTAMP(3),
    "reconciledAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "whatsapp_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session_logs" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "sessionId" UUID NOT NULL,
    "type" "SessionLogType" NOT NULL,
    "message" TEXT NOT NULL,
    "status" "SessionStatus",
    "details" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "session_logs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "contacts" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "jid" TEXT NOT NULL,
    "lid" TEXT,
    "phoneNumber" TEXT,
    "name" TEXT,
    "pushName" TEXT,
    "verifiedName" TEXT,
    "imgUrl" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "contacts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "chats" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "remoteJid" TEXT NOT NULL,
    "contactId" UUID,
    "phoneNumber" TEXT,
    "name" TEXT,
    "isGroup" BOOLEAN NOT NULL DEFAULT false,
    "unreadCount" INTEGER NOT NULL DEFAULT 0,
    "lastMessageAt" TIMESTAMP(3),
    "lastMessageId" UUID,
    "lastMessageSeq" BIGINT,
    "archived" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "chats_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "sessionId" UUID NOT NULL,
    "chatId" UUID NOT NULL,
    "direction" "MessageDirection" NOT NULL,
    "kind" "MessageKind" NOT NULL,
    "status" "MessageStatus" NOT NULL,
    "providerMessageId" TEXT,
    "providerMsgId" TEXT,
    "fromJid" TEXT NOT NULL,
    "senderPhone" TEXT,
    "senderName" TEXT,
    "text" TEXT,
    "content" JSONB,
    "replyToProviderId" TEXT,
    "raw" JSONB,
    "error" TEXT,
    "idempotencyKey" TEXT,
    "bulkSendJobId" UUID,
    "timestamp" TIMESTAMP(3) NOT NULL,
    "editedAt" TIMESTAMP(3),
    "deletedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "sessionId" UUID,
    "event" TEXT NOT NULL,
    "dedupeKey" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processedAt" TIMESTAMP(3),
    "claimedUntil" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "webhook_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "tokenHint" TEXT NOT NULL,
    "role" "ApiTokenRole" NOT NULL,
    "sessionIds" UUID[],
    "expiresAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "previousTokenHash" TEXT,
    "previousTokenValidUntil" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "provider_settings" (
    "id" TEXT NOT NULL DEFAULT 'default',
    "tokenEncrypted" TEXT,
    "tokenHint" TEXT,
    "baseUrl" TEXT,
    "verifiedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "provider_settings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bulk_send_jobs" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "status" "BulkSendStatus" NOT NULL DEFAULT 'QUEUED',
    "pausedReason" TEXT,
    "template" TEXT NOT NULL,
    "media" JSONB,
    "total" INTEGER NOT NULL,
    "queued" INTEGER NOT NULL,
    "sent" INTEGER NOT NULL DEFAULT 0,
    "delivered" INTEGER NOT NULL DEFAULT 0,
    "read" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "createdById" TEXT,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bulk_send_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "outbox_messages" (
    "id" UUID NOT NULL,
    "sessionId" UUID NOT NULL,
    "bulkSendJobId" UUID,
    "messageId" UUID,
    "to" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "status" "OutboxStatus" NOT NULL DEFAULT 'QUEUED',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lockedUntil" TIMESTAMP(3),
    "lastError" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "outbox_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_providerSessionId_key" ON "whatsapp_sessions"("providerSessionId");

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_apiKeyHash_key" ON "whatsapp_sessions"("apiKeyHash");

-- CreateIndex
CREATE INDEX "whatsapp_sessions_status_createdAt_idx" ON "whatsapp_sessions"("status", "createdAt");

-- CreateIndex
CREATE INDEX "whatsapp_sessions_createdAt_id_idx" ON "whatsapp_sessions"("createdAt", "id");

-- CreateIndex
CREATE UNIQUE INDEX "session_logs_seq_key" ON "session_logs"("seq");

-- CreateIndex
CREATE INDEX "session_logs_sessionId_seq_idx" ON "session_logs"("sessionId", "seq");

-- CreateIndex
CREATE INDEX "contacts_sessionId_lid_idx" ON "contacts"("sessionId", "lid");

-- CreateIndex
CREATE INDEX "contacts_sessionId_phoneNumber_idx" ON "contacts"("sessionId", "phoneNumber");

-- CreateIndex
CREATE UNIQUE INDEX "contacts_sessionId_jid_key" ON "contacts"("sessionId", "jid");

-- CreateIndex
CREATE UNIQUE INDEX "chats_lastMessageId_key" ON "chats"("lastMessageId");

-- CreateIndex
CREATE INDEX "chats_sessionId_lastMessageSeq_id_idx" ON "chats"("sessionId", "lastMessageSeq" DESC, "id");

-- CreateIndex
CREATE INDEX "chats_sessionId_unreadCount_idx" ON "chats"("sessionId", "unreadCount");

-- CreateIndex
CREATE UNIQUE INDEX "chats_sessionId_remoteJid_key" ON "chats"("sessionId", "remoteJid");

-- CreateIndex
CREATE UNIQUE INDEX "messages_seq_key" ON "messages"("seq");

-- CreateIndex
CREATE INDEX "messages_chatId_seq_idx" ON "messages"("chatId", "seq");

-- CreateIndex
CREATE INDEX "messages_sessionId_direction_seq_idx" ON "messages"("sessionId", "direction", "seq");

-- CreateIndex
CREATE INDEX "messages_sessionId_providerMsgId_idx" ON "messages"("sessionId", "providerMsgId");

-- CreateIndex
CREATE UNIQUE INDEX "messages_sessionId_providerMessageId_key" ON "messages"("sessionId", "providerMessageId");

-- CreateIndex
CREATE UNIQUE INDEX "messages_sessionId_idempotencyKey_key" ON "messages"("sessionId", "idempotencyKey");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_events_seq_key" ON "webhook_events"("seq");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_events_dedupeKey_key" ON "webhook_events"("dedupeKey");

-- CreateIndex
CREATE INDEX "webhook_events_processedAt_seq_idx" ON "webhook_events"("processedAt", "seq");

-- CreateIndex
CREATE INDEX "webhook_events_sessionId_receivedAt_idx" ON "webhook_events"("sessionId", "receivedAt");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_tokenHash_key" ON "api_tokens"("tokenHash");

-- CreateIndex
CREATE UNIQUE INDEX "api_tokens_previousTokenHash_key" ON "api_tokens"("previousTokenHash");

-- CreateIndex
CREATE INDEX "bulk_send_jobs_sessionId_status_idx" ON "bulk_send_jobs"("sessionId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_messages_messageId_key" ON "outbox_messages"("messageId");

-- CreateIndex
CREATE INDEX "outbox_messages_status_nextAttemptAt_idx" ON "outbox_messages"("status", "nextAttemptAt");

-- CreateIndex
CREATE INDEX "outbox_messages_sessionId_status_nextAttemptAt_idx" ON "outbox_messages"("sessionId", "status", "nextAttemptAt");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_messages_bulkSendJobId_to_key" ON "outbox_messages"("bulkSendJobId", "to");

-- AddForeignKey
ALTER TABLE "session_logs" ADD CONSTRAINT "session_logs_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chats" ADD CONSTRAINT "chats_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chats" ADD CONSTRAINT "chats_contactId_fkey" FOREIGN KEY ("contactId") REFERENCES "contacts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "chats" ADD CONSTRAINT "chats_lastMessageId_fkey" FOREIGN KEY ("lastMessageId") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_chatId_fkey" FOREIGN KEY ("chatId") REFERENCES "chats"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_bulkSendJobId_fkey" FOREIGN KEY ("bulkSendJobId") REFERENCES "bulk_send_jobs"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_events" ADD CONSTRAINT "webhook_events_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "bulk_send_jobs" ADD CONSTRAINT "bulk_send_jobs_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_messages" ADD CONSTRAINT "outbox_messages_sessionId_fkey" FOREIGN KEY ("sessionId") REFERENCES "whatsapp_sessions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_messages" ADD CONSTRAINT "outbox_messages_bulkSendJobId_fkey" FOREIGN KEY ("bulkSendJobId") REFERENCES "bulk_send_jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "outbox_messages" ADD CONSTRAINT "outbox_messages_messageId_fkey" FOREIGN KEY ("messageId") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
