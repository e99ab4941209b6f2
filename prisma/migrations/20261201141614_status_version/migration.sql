-- AlterTable
ALTER TABLE "whatsapp_sessions" ADD COLUMN     "statusVersion" INTEGER NOT NULL DEFAULT 0;
