-- CreateTable
CREATE TABLE "periodic_job_claims" (
    "name" TEXT NOT NULL,
    "claimedUntil" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "periodic_job_claims_pkey" PRIMARY KEY ("name")
);

-- Stored webhook payloads keep no secret: the envelope's "sessionId" is the session's API key.
UPDATE "webhook_events" SET "payload" = "payload" - 'sessionId'
WHERE jsonb_typeof("payload") = 'object' AND "payload" ? 'sessionId';

-- Dedupe keys become fixed-length hashes, as the app now writes them: sha256 hex of
-- "<session id>:<logical key>", which is exactly what the old keys spelled out.
UPDATE "webhook_events" SET "dedupeKey" = encode(sha256(convert_to("dedupeKey", 'UTF8')), 'hex')
WHERE "dedupeKey" !~ '^[0-9a-f]{64}$';
