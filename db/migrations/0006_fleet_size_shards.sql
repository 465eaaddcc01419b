CREATE TABLE "fleet_size_shards" (
	"shard" integer PRIMARY KEY NOT NULL,
	"systems" bigint NOT NULL
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
