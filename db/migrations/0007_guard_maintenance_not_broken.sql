-- A machine under a maintenance window (its own, or one of a label it carries) at the time of a request is not a
-- broken machine: it alerts because of the planned work. Counted as broken, a rack's planned power work would
-- trip the blind-monitoring brake, or open a group incident, at the next real failure. A request refused by a
-- pause, a cooldown or failed rescues still counts: that machine is broken, automation only keeps its hands off
-- it. The guard's own count within a batch is the same (triggers/guard-decision.ts, planAdmissions).
CREATE FUNCTION "guard_under_maintenance"(machine text, decided_at timestamptz) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (
    SELECT 1 FROM maintenance_windows w
    WHERE w.starts_at <= decided_at AND w.ends_at > decided_at
      AND (w.system_name = machine
           OR (w.label_key IS NOT NULL AND EXISTS (SELECT 1 FROM systems s WHERE s.name = machine AND s.labels ->> w.label_key = w.label_value)))
  )
$$;--> statement-breakpoint
-- Migration 0006's function, but a request under maintenance is not noted; when a request amended into a join
-- gives way, the machine's latest other request that counts stands.
CREATE OR REPLACE FUNCTION "guard_note_broken_machine"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous_at timestamptz;
  latest_at timestamptz;
BEGIN
  IF NEW.phase = 'intake' AND NEW.decision <> 'joined' AND NOT guard_under_maintenance(NEW.system_name, NEW.at) THEN
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
    -- Amended into a join: the machine's latest other intake request that counts, if any, stands.
    DELETE FROM guard_broken_machines WHERE system_name = OLD.system_name RETURNING at INTO previous_at;
    INSERT INTO guard_broken_machines (system_name, at, groups)
      SELECT system_name, at, groups FROM guard_decisions
      WHERE system_name = OLD.system_name AND phase = 'intake' AND decision <> 'joined' AND NOT guard_under_maintenance(system_name, at)
      ORDER BY at DESC, id DESC LIMIT 1
      RETURNING at INTO latest_at;
    PERFORM guard_count_move('broken', previous_at, latest_at);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- The machines noted broken by a request under maintenance before this migration: their latest request that
-- counts stands instead, or none, and the counts follow.
DO $$
DECLARE
  noted record;
  latest_at timestamptz;
BEGIN
  FOR noted IN SELECT system_name, at FROM guard_broken_machines WHERE guard_under_maintenance(system_name, at) LOOP
    DELETE FROM guard_broken_machines WHERE system_name = noted.system_name;
    latest_at := NULL;
    INSERT INTO guard_broken_machines (system_name, at, groups)
      SELECT system_name, at, groups FROM guard_decisions
      WHERE system_name = noted.system_name AND phase = 'intake' AND decision <> 'joined' AND NOT guard_under_maintenance(system_name, at)
      ORDER BY at DESC, id DESC LIMIT 1
      RETURNING at INTO latest_at;
    PERFORM guard_count_move('broken', noted.at, latest_at);
  END LOOP;
END
$$;
