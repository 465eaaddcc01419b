CREATE TABLE "guard_power_cycles" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"system_name" text NOT NULL,
	"workflow_id" text NOT NULL,
	"action" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rescue_slots" ADD COLUMN "first_power_cycle_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "guard_power_cycles_at_idx" ON "guard_power_cycles" USING btree ("at");--> statement-breakpoint
-- The guard's limit of power cycles per hour counts the power operations that powered a machine up or
-- restarted it (on, cycle, reset) made by automatic rescues, and, for each automatic rescue admitted that has
-- not made one yet, its first cycle (reserved: a burst of admissions cannot overshoot before the cycles
-- happen). Both are kept in 10-second buckets as migration 0006 keeps its counts: `power_cycles` by the
-- operation's time, `reserved_cycles` by the slot's admission time while its first_power_cycle_at is null.
-- Every statement that writes them runs under the guard's advisory lock: admissions and dropped slots as
-- before, and the record of a power cycle (guard_power_cycles and its slot's first_power_cycle_at, in one
-- statement: db/repositories/guard.ts, countPowerCycle). A slot's release (an UPDATE outside the lock) changes
-- no reservation, so it still writes only the open_slots row. Only the last hour is ever read: the rows and
-- buckets older than two hours go when a new bucket comes (every 10 s at most).
CREATE FUNCTION "guard_prune_cycle_counts"() RETURNS void LANGUAGE sql AS $$
  DELETE FROM guard_power_cycles WHERE at < now() - interval '2 hours';
  DELETE FROM guard_count_buckets WHERE kind IN ('power_cycles', 'reserved_cycles') AND bucket < now() - interval '2 hours';
$$;--> statement-breakpoint
CREATE FUNCTION "guard_count_power_cycles"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  new_buckets bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM guard_count_buckets WHERE kind = 'power_cycles';
  ELSIF TG_OP = 'INSERT' THEN
    WITH added AS (
      INSERT INTO guard_count_buckets AS b (kind, bucket, n)
        SELECT 'power_cycles', guard_count_bucket(at), count(*) FROM new_cycles GROUP BY 2 ORDER BY 2
        ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n
        RETURNING xmax = 0 AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted) INTO new_buckets FROM added;
    IF new_buckets > 0 THEN
      PERFORM guard_prune_cycle_counts();
    END IF;
  ELSE
    -- Rows are only inserted, and deleted when pruned (their buckets go next) or by hand.
    UPDATE guard_count_buckets b SET n = b.n - d.n
      FROM (SELECT guard_count_bucket(at) AS bucket, count(*) AS n FROM old_cycles GROUP BY 1) d
      WHERE b.kind = 'power_cycles' AND b.bucket = d.bucket;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "guard_power_cycles_count_inserted" AFTER INSERT ON "guard_power_cycles" REFERENCING NEW TABLE AS new_cycles
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_power_cycles"();--> statement-breakpoint
CREATE TRIGGER "guard_power_cycles_count_deleted" AFTER DELETE ON "guard_power_cycles" REFERENCING OLD TABLE AS old_cycles
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_power_cycles"();--> statement-breakpoint
CREATE TRIGGER "guard_power_cycles_count_truncated" AFTER TRUNCATE ON "guard_power_cycles"
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_power_cycles"();--> statement-breakpoint
-- Migration 0006's count of the slots, but their buckets count reservations (slots that have not cycled yet)
-- instead of starts.
CREATE OR REPLACE FUNCTION "guard_count_slots"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  open_delta bigint;
  new_buckets bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM guard_count_buckets WHERE kind = 'reserved_cycles';
    UPDATE guard_counts SET n = 0 WHERE name = 'open_slots';
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    -- One statement for the admission's slots: their bucket, and whether it is a new one.
    WITH added AS (
      INSERT INTO guard_count_buckets AS b (kind, bucket, n)
        SELECT 'reserved_cycles', guard_count_bucket(admitted_at), count(*) FROM new_slots WHERE first_power_cycle_at IS NULL GROUP BY 2 ORDER BY 2
        ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n
        RETURNING xmax = 0 AS inserted
    )
    SELECT (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM new_slots), (SELECT count(*) FILTER (WHERE inserted) FROM added)
      INTO open_delta, new_buckets;
    IF new_buckets > 0 THEN
      PERFORM guard_prune_cycle_counts();
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT -count(*) FILTER (WHERE released_at IS NULL) INTO open_delta FROM old_slots;
    INSERT INTO guard_count_buckets AS b (kind, bucket, n)
      SELECT 'reserved_cycles', guard_count_bucket(admitted_at), -count(*) FROM old_slots WHERE first_power_cycle_at IS NULL GROUP BY 2 ORDER BY 2
      ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n;
  ELSE
    SELECT (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM new_slots) - (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM old_slots) INTO open_delta;
    -- A release changes no reservation: nothing is written here for it. A first power cycle ends one.
    INSERT INTO guard_count_buckets AS b (kind, bucket, n)
      SELECT 'reserved_cycles', bucket, sum(delta) FROM (
        SELECT guard_count_bucket(admitted_at) AS bucket, 1 AS delta FROM new_slots WHERE first_power_cycle_at IS NULL
        UNION ALL SELECT guard_count_bucket(admitted_at), -1 FROM old_slots WHERE first_power_cycle_at IS NULL
      ) changes GROUP BY bucket HAVING sum(delta) <> 0 ORDER BY bucket
      ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n;
  END IF;
  IF open_delta <> 0 THEN
    UPDATE guard_counts SET n = n + open_delta WHERE name = 'open_slots';
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- The starts are no longer read. The slots admitted before this migration count as reserved until their hour
-- is over, even those that cycled already (their operations were not recorded by rescue): an hour on the safe side.
DELETE FROM "guard_count_buckets" WHERE "kind" = 'starts';--> statement-breakpoint
INSERT INTO "guard_count_buckets" ("kind", "bucket", "n")
  SELECT 'reserved_cycles', guard_count_bucket("admitted_at"), count(*) FROM "rescue_slots" WHERE "admitted_at" > now() - interval '2 hours' GROUP BY 2;
