-- AlterTable
ALTER TABLE "bulk_send_jobs" ADD COLUMN     "pausedBySession" BOOLEAN NOT NULL DEFAULT false;
