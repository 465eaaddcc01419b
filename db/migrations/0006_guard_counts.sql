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
CREATE FUNCTION "guard_count_broken_machines"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  emptied bigint;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    DELETE FROM guard_count_buckets WHERE kind = 'broken';
    RETURN NULL;
  ELSIF TG_OP = 'INSERT' THEN
    INSERT INTO guard_count_buckets AS b (kind, bucket, n)
      SELECT 'broken', guard_count_bucket(at), count(*) FROM added_machines GROUP BY 2 ORDER BY 2
      ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n;
    RETURN NULL;
  ELSIF TG_OP = 'DELETE' THEN
    WITH changed AS (
      INSERT INTO guard_count_buckets AS b (kind, bucket, n)
        SELECT 'broken', guard_count_bucket(at), -count(*) FROM removed_machines GROUP BY 2 ORDER BY 2
        ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n
        RETURNING n
    )
    SELECT count(*) FILTER (WHERE n = 0) INTO emptied FROM changed;
  ELSE
    -- An upsert that inserted fires this too, with nothing updated.
    WITH changed AS (
      INSERT INTO guard_count_buckets AS b (kind, bucket, n)
        SELECT 'broken', bucket, sum(delta) FROM (
          SELECT guard_count_bucket(at) AS bucket, 1 AS delta FROM added_machines
          UNION ALL SELECT guard_count_bucket(at), -1 FROM removed_machines
        ) changes GROUP BY bucket HAVING sum(delta) <> 0 ORDER BY bucket
        ON CONFLICT (kind, bucket) DO UPDATE SET n = b.n + excluded.n
        RETURNING n
    )
    SELECT count(*) FILTER (WHERE n = 0) INTO emptied FROM changed;
  END IF;
  -- A bucket the machines have all left counts nothing: it goes, so the table holds no more buckets than
  -- there are machines broken at different times.
  IF emptied > 0 THEN
    DELETE FROM guard_count_buckets WHERE kind = 'broken' AND n = 0 AND bucket IN (SELECT guard_count_bucket(at) FROM removed_machines);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "guard_broken_machines_count_inserted" AFTER INSERT ON "guard_broken_machines" REFERENCING NEW TABLE AS added_machines
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_broken_machines"();--> statement-breakpoint
CREATE TRIGGER "guard_broken_machines_count_updated" AFTER UPDATE ON "guard_broken_machines" REFERENCING OLD TABLE AS removed_machines NEW TABLE AS added_machines
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_broken_machines"();--> statement-breakpoint
CREATE TRIGGER "guard_broken_machines_count_deleted" AFTER DELETE ON "guard_broken_machines" REFERENCING OLD TABLE AS removed_machines
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_broken_machines"();--> statement-breakpoint
CREATE TRIGGER "guard_broken_machines_count_truncated" AFTER TRUNCATE ON "guard_broken_machines"
  FOR EACH STATEMENT EXECUTE FUNCTION "guard_count_broken_machines"();--> statement-breakpoint
INSERT INTO "guard_counts" ("name", "n") SELECT 'open_slots', count(*) FROM "rescue_slots" WHERE "released_at" IS NULL;--> statement-breakpoint
INSERT INTO "guard_count_buckets" ("kind", "bucket", "n")
  SELECT 'starts', guard_count_bucket("admitted_at"), count(*) FROM "rescue_slots" WHERE "admitted_at" > now() - interval '2 hours' GROUP BY 2;--> statement-breakpoint
INSERT INTO "guard_count_buckets" ("kind", "bucket", "n")
  SELECT 'broken', guard_count_bucket("at"), count(*) FROM "guard_broken_machines" GROUP BY 2;
