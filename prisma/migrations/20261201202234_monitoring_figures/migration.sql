-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "deliverySeconds" DOUBLE PRECISION,
ADD COLUMN     "responseSeconds" DOUBLE PRECISION,
ADD COLUMN     "startsTurn" BOOLEAN NOT NULL DEFAULT false;

-- Messages stored before: the delivery time of every message known delivered.
UPDATE "messages" SET "deliverySeconds" = GREATEST(0, EXTRACT(EPOCH FROM ("deliveredAt" - "sentAt")))::float8
WHERE "deliveredAt" IS NOT NULL AND "sentAt" IS NOT NULL;

-- Messages stored before: every chat's turns computed once (monitoring/response-turns.ts keeps
-- them as messages arrive from now on).
WITH turns AS (
  SELECT m.id, m.direction, m.timestamp,
    lag(m.direction) OVER (PARTITION BY m."chatId" ORDER BY m.timestamp, m.seq) IS DISTINCT FROM 'INBOUND' AS starts,
    min(m.timestamp) FILTER (WHERE m.direction = 'OUTBOUND')
      OVER (PARTITION BY m."chatId" ORDER BY m.timestamp DESC, m.seq DESC ROWS UNBOUNDED PRECEDING) AS answered
  FROM messages m
)
UPDATE "messages" m SET "startsTurn" = t.starts,
  "responseSeconds" = CASE WHEN t.starts THEN EXTRACT(EPOCH FROM (t.answered - t.timestamp))::float8 END
FROM turns t
WHERE m.id = t.id AND t.direction = 'INBOUND';
