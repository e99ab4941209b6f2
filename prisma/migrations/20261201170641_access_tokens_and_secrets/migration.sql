-- AlterEnum
ALTER TYPE "SessionLogType" ADD VALUE 'API_KEY_REVEALED';

-- CreateTable
CREATE TABLE "server_secrets" (
    "name" TEXT NOT NULL,
    "valueEncrypted" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "server_secrets_pkey" PRIMARY KEY ("name")
);
