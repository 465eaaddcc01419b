CREATE TABLE "fleet_size_shards" (
	"shard" integer PRIMARY KEY NOT NULL,
	"systems" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "guard_count_buckets" (
	"kind" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"n" integer NOT NULL,
	CONSTRAINT "guard_count_buckets_kind_bucket_pk" PRIMARY KEY("kind","bucket")
);
--> statement-breakpoint
CREATE TABLE "guard_counts" (
	"name" text PRIMARY KEY NOT NULL,
	"n" bigint NOT NULL
);
--> statement-breakpoint
-- Kept here, whoever writes systems: once per statement (its transition table), so an import of thousands
-- writes one row, not thousands. A transaction adds to its connection's shard (8 of them), so that concurrent
-- inventory writes seldom wait for one row; a shard may go below zero (a system deleted from another
-- connection than the one that added it): only the sum means anything.
CREATE FUNCTION "fleet_size_add_systems"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  delta bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM fleet_size_shards;
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT count(*) INTO delta FROM added_systems;
  ELSE
    SELECT -count(*) INTO delta FROM removed_systems;
  END IF;
  IF delta <> 0 THEN
    INSERT INTO fleet_size_shards AS f (shard, systems) VALUES (pg_backend_pid() % 8, delta)
    ON CONFLICT (shard) DO UPDATE SET systems = f.systems + excluded.systems;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "systems_fleet_size_inserted" AFTER INSERT ON "systems" REFERENCING NEW TABLE AS added_systems
  FOR EACH STATEMENT EXECUTE FUNCTION "fleet_size_add_systems"();--> statement-breakpoint
CREATE TRIGGER "systems_fleet_size_deleted" AFTER DELETE ON "systems" REFERENCING OLD TABLE AS removed_systems
  FOR EACH STATEMENT EXECUTE FUNCTION "fleet_size_add_systems"();--> statement-breakpoint
CREATE TRIGGER "systems_fleet_size_truncated" AFTER TRUNCATE ON "systems"
  FOR EACH STATEMENT EXECUTE FUNCTION "fleet_size_add_systems"();--> statement-breakpoint
INSERT INTO "fleet_size_shards" ("shard", "systems") SELECT 0, count(*) FROM "systems";
--> statement-breakpoint
-- The guard's counts that grow with a storm (open slots, starts of the last hour, machines broken within the
-- correlation window), kept here by whoever writes the rows they count, once per statement. Every statement
-- that inserts or deletes slots, or writes guard_decisions (and so guard_broken_machines, migration 0005),
-- runs under the guard's advisory lock, taken first in its transaction: the bucket rows are therefore
-- written one transaction at a time, and cannot deadlock. Releasing a slot (an UPDATE outside the lock)
-- changes only the open_slots row, after its own slot row.
CREATE FUNCTION "guard_count_bucket"(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT date_bin('10 seconds', t, timestamptz '1970-01-01 00:00:00+00') $$;--> statement-breakpoint
CREATE FUNCTION "guard_count_slots"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  open_delta bigint;
  new_buckets bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM guard_count_buckets WHERE kind = 'starts';
    UPDATE guard_counts SET n = 0 WHERE name = 'open_slots';
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    -- One statement for the admission's slots: their bucket, and whether it is a new one.
    WITH added AS (
      INSERT INTO guard_count_buckets AS b (kind, bucket, n)
        SELECT 'starts', guard_count_bucket(admitted_at), count(*) FROM new_slots GROUP BY 2 ORDER BY 2
        ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n
        RETURNING xmax = 0 AS inserted
    )
    SELECT (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM new_slots), (SELECT count(*) FILTER (WHERE inserted) FROM added)
      INTO open_delta, new_buckets;
    -- Only the last hour's starts are ever read: the old buckets go when a new one comes (every 10 s at most).
    IF new_buckets > 0 THEN
      DELETE FROM guard_count_buckets WHERE kind = 'starts' AND bucket < now() - interval '2 hours';
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    SELECT -count(*) FILTER (WHERE released_at IS NULL) INTO open_delta FROM old_slots;
    INSERT INTO guard_count_buckets AS b (kind, bucket, n)
      SELECT 'starts', guard_count_bucket(admitted_at), -count(*) FROM old_slots GROUP BY 2 ORDER BY 2
      ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n;
  ELSE
    SELECT (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM new_slots) - (SELECT count(*) FILTER (WHERE released_at IS NULL) FROM old_slots) INTO open_delta;
    -- A release changes no admission time: nothing is written here for it.
    INSERT INTO guard_count_buckets AS b (kind, bucket, n)
      SELECT 'starts', bucket, sum(delta) FROM (
        SELECT guard_count_bucket(admitted_at) AS bucket, 1 AS delta FROM new_slots
        UNION ALL SELECT guard_count_bucket(admitted_at), -1 FROM old_slots
      ) changes GROUP BY bucket HAVING sum(delta) <> 0 ORDER BY bucket
      ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n;
  END IF;
  IF open_delta <> 0 THEN
    UPDATE guard_counts SET n = n + open_delta WHERE name = 'open_slots';
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "rescue_slots_count_inserted" AFTER INSERT ON "rescue_slots" REFERENCING NEW TABLE AS new_slots
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_slots"();--> statement-breakpoint
CREATE TRIGGER "rescue_slots_count_updated" AFTER UPDATE ON "rescue_slots" REFERENCING OLD TABLE AS old_slots NEW TABLE AS new_slots
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_slots"();--> statement-breakpoint
CREATE TRIGGER "rescue_slots_count_deleted" AFTER DELETE ON "rescue_slots" REFERENCING OLD TABLE AS old_slots
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_slots"();--> statement-breakpoint
CREATE TRIGGER "rescue_slots_count_truncated" AFTER TRUNCATE ON "rescue_slots"
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_slots"();--> statement-breakpoint
-- The machines broken lately are counted where guard_broken_machines is written (migration 0005's trigger,
-- the table's only writer): a machine moves from the bucket of its previous request to that of its new one.
-- One row per decision, so no statement-level trigger runs per decision on the admission's path.
CREATE FUNCTION "guard_count_move"(count_kind text, from_at timestamptz, to_at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  left_n integer;
BEGIN
  IF from_at IS NOT NULL AND to_at IS NOT NULL AND guard_count_bucket(from_at) = guard_count_bucket(to_at) THEN
    RETURN;
  END IF;
  IF to_at IS NOT NULL THEN
    INSERT INTO guard_count_buckets AS b (kind, bucket, n) VALUES (count_kind, guard_count_bucket(to_at), 1)
    ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + 1;
  END IF;
  IF from_at IS NOT NULL THEN
    UPDATE guard_count_buckets SET n = n - 1 WHERE kind = count_kind AND bucket = guard_count_bucket(from_at) RETURNING n INTO left_n;
    -- A bucket every machine has left counts nothing: it goes, so the table holds no more buckets than there
    -- are machines broken at different times.
    IF left_n = 0 THEN
      DELETE FROM guard_count_buckets WHERE kind = count_kind AND bucket = guard_count_bucket(from_at);
    END IF;
  END IF;
END
$$;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "guard_note_broken_machine"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous_at timestamptz;
  latest_at timestamptz;
BEGIN
  IF NEW.phase = 'intake' AND NEW.decision <> 'joined' THEN
    SELECT at INTO previous_at FROM guard_broken_machines WHERE system_name = NEW.system_name FOR UPDATE;
    IF NOT FOUND THEN
      INSERT INTO guard_broken_machines (system_name, at, groups) VALUES (NEW.system_name, NEW.at, NEW.groups);
      PERFORM guard_count_move('broken', NULL, NEW.at);
    ELSIF previous_at <= NEW.at THEN
      -- The later one wins: a batch's rows share their transaction's time.
      UPDATE guard_broken_machines SET at = NEW.at, groups = NEW.groups WHERE system_name = NEW.system_name;
      PERFORM guard_count_move('broken', previous_at, NEW.at);
    END IF;
  ELSIF TG_OP = 'UPDATE' AND OLD.phase = 'intake' AND OLD.decision <> 'joined' THEN
    -- Amended into a join: the machine's latest other intake request that was not a join, if any, stands.
    DELETE FROM guard_broken_machines WHERE system_name = OLD.system_name RETURNING at INTO previous_at;
    INSERT INTO guard_broken_machines (system_name, at, groups)
      SELECT system_name, at, groups FROM guard_decisions
      WHERE system_name = OLD.system_name AND phase = 'intake' AND decision <> 'joined'
      ORDER BY at DESC, id DESC LIMIT 1
      RETURNING at INTO latest_at;
    PERFORM guard_count_move('broken', previous_at, latest_at);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "guard_count_broken_machines_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM guard_count_buckets WHERE kind = 'broken';
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "guard_broken_machines_count_truncated" AFTER TRUNCATE ON "guard_broken_machines"
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_broken_machines_truncated"();--> statement-breakpoint
INSERT INTO "guard_counts" ("name", "n") SELECT 'open_slots', count(*) FROM "rescue_slots" WHERE "released_at" IS NULL;--> statement-breakpoint
INSERT INTO "guard_count_buckets" ("kind", "bucket", "n")
  SELECT 'starts', guard_count_bucket("admitted_at"), count(*) FROM "rescue_slots" WHERE "admitted_at" > now() - interval '2 hours' GROUP BY 2;--> statement-breakpoint
INSERT INTO "guard_count_buckets" ("kind", "bucket", "n")
  SELECT 'broken', guard_count_bucket("at"), count(*) FROM "guard_broken_machines" GROUP BY 2;
