CREATE TABLE "guard_broken_machines" (
	"system_name" text PRIMARY KEY NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"groups" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "guard_broken_machines_at_idx" ON "guard_broken_machines" USING btree ("at");--> statement-breakpoint
CREATE INDEX "guard_broken_machines_grouped_at_idx" ON "guard_broken_machines" USING btree ("at") WHERE groups <> '{}'::jsonb;--> statement-breakpoint
-- Kept here, whoever writes a decision: an intake request that is not a join makes it the machine's latest
-- (the later one wins: a batch's rows share their transaction's time); an intake request amended into a join
-- (it met a rescue already running) gives way to the machine's latest other one, if any.
CREATE FUNCTION "guard_note_broken_machine"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.phase = 'intake' AND NEW.decision <> 'joined' THEN
    INSERT INTO guard_broken_machines AS b (system_name, at, groups) VALUES (NEW.system_name, NEW.at, NEW.groups)
    ON CONFLICT (system_name) DO UPDATE SET at = excluded.at, groups = excluded.groups WHERE b.at <= excluded.at;
  ELSIF TG_OP = 'UPDATE' AND OLD.phase = 'intake' AND OLD.decision <> 'joined' THEN
    DELETE FROM guard_broken_machines WHERE system_name = OLD.system_name;
    INSERT INTO guard_broken_machines (system_name, at, groups)
      SELECT system_name, at, groups FROM guard_decisions
      WHERE system_name = OLD.system_name AND phase = 'intake' AND decision <> 'joined'
      ORDER BY at DESC, id DESC LIMIT 1;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "guard_decisions_note_broken_machine" AFTER INSERT OR UPDATE OF "phase", "decision", "at", "groups" ON "guard_decisions"
  FOR EACH ROW EXECUTE FUNCTION "guard_note_broken_machine"();--> statement-breakpoint
INSERT INTO "guard_broken_machines" ("system_name", "at", "groups")
  SELECT DISTINCT ON (system_name) system_name, at, groups FROM "guard_decisions"
  WHERE phase = 'intake' AND decision <> 'joined'
  ORDER BY system_name, at DESC, id DESC;
