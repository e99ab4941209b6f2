-- AlterTable
ALTER TABLE "whatsapp_sessions" ADD COLUMN     "qrRefreshClaimedAt" TIMESTAMP(3);
