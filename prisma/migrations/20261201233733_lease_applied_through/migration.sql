-- AlterTable
ALTER TABLE "webhook_session_leases" ADD COLUMN     "appliedThrough" BIGINT NOT NULL DEFAULT 0;
