-- AlterTable
ALTER TABLE "whatsapp_sessions" ADD COLUMN     "webhookSecretHash" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_webhookSecretHash_key" ON "whatsapp_sessions"("webhookSecretHash");
