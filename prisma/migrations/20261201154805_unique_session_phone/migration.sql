-- One number, one session. A database holding two sessions with one number cannot take the index:
-- say which ones, so that the operator knows what to delete or renumber, rather than fail on a bare
-- unique violation. (The provider refuses a number twice per account, so this needs sessions made
-- under two accounts or left after a deletion at the provider.)
DO $$
DECLARE
  shared text;
BEGIN
  SELECT string_agg(format('%s (sessions %s)', "phoneNumber", ids), '; ')
    INTO shared
    FROM (
      SELECT "phoneNumber", string_agg(id::text, ', ' ORDER BY "createdAt", id) AS ids
      FROM "whatsapp_sessions" GROUP BY "phoneNumber" HAVING count(*) > 1
    ) d;
  IF shared IS NOT NULL THEN
    RAISE EXCEPTION 'Several sessions use one phone number: %. Delete or change all but one of each before upgrading.', shared;
  END IF;
END $$;

-- CreateIndex
CREATE UNIQUE INDEX "whatsapp_sessions_phoneNumber_key" ON "whatsapp_sessions"("phoneNumber");
