CREATE TABLE "alerts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"receiver" text NOT NULL,
	"delivered_by" text NOT NULL,
	"fingerprint" text NOT NULL,
	"status" text NOT NULL,
	"alert_name" text,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"annotations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"starts_at" text,
	"system_name" text,
	"decision" text NOT NULL,
	"reason" text NOT NULL,
	"workflow_id" text
);
--> statement-breakpoint
CREATE TABLE "audit_results" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"audit_id" integer NOT NULL,
	"system_name" text NOT NULL,
	"classification" text NOT NULL,
	"reason" text NOT NULL,
	"observation" jsonb NOT NULL,
	"probed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"admission" text,
	"admission_reason" text,
	"rescue_workflow_id" text
);
--> statement-breakpoint
CREATE TABLE "audit_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" text NOT NULL,
	"state" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"systems_total" integer DEFAULT 0 NOT NULL,
	"probed" integer DEFAULT 0 NOT NULL,
	"healthy" integer DEFAULT 0 NOT NULL,
	"suspect" integer DEFAULT 0 NOT NULL,
	"broken" integer DEFAULT 0 NOT NULL,
	"note" text
);
--> statement-breakpoint
CREATE TABLE "guard_decisions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"system_name" text NOT NULL,
	"source" text NOT NULL,
	"phase" text NOT NULL,
	"alert_id" text,
	"groups" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"decision" text NOT NULL,
	"reason" text NOT NULL,
	"workflow_id" text
);
--> statement-breakpoint
CREATE TABLE "guard_incidents" (
	"id" serial PRIMARY KEY NOT NULL,
	"group_label" text NOT NULL,
	"group_value" text NOT NULL,
	"systems" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"reason" text NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"closed_at" timestamp with time zone,
	"closed_by" text
);
--> statement-breakpoint
CREATE TABLE "guard_settings" (
	"id" integer PRIMARY KEY NOT NULL,
	"settings" jsonb NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"paused_by" text,
	"paused_reason" text,
	"paused_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_by" text
);
--> statement-breakpoint
CREATE TABLE "install_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_id" integer NOT NULL,
	"token_hash" text NOT NULL,
	"token_encrypted" text NOT NULL,
	"opened_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"install_id" integer,
	"closed_at" timestamp with time zone,
	"closed_reason" text,
	CONSTRAINT "install_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "maintenance_windows" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_name" text,
	"label_key" text,
	"label_value" text,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"reason" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rescue_queue" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"system_name" text NOT NULL,
	"source" text NOT NULL,
	"reason" text NOT NULL,
	"alert_id" text,
	"enqueued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"not_before" timestamp with time zone DEFAULT now() NOT NULL,
	"state" text DEFAULT 'waiting' NOT NULL,
	"last_reason" text NOT NULL,
	"workflow_id" text,
	"decided_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "rescue_slots" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_name" text NOT NULL,
	"workflow_id" text NOT NULL,
	"source" text NOT NULL,
	"groups" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"admitted_at" timestamp with time zone DEFAULT now() NOT NULL,
	"released_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "api_tokens" ADD COLUMN "hmac_secret_encrypted" text;--> statement-breakpoint
ALTER TABLE "boot_overrides" ADD COLUMN "append_encrypted" text;--> statement-breakpoint
ALTER TABLE "rescue_handshakes" ADD COLUMN "boot_script_fetched_from" text;--> statement-breakpoint
ALTER TABLE "rescue_handshakes" ADD COLUMN "phone_home_source" text;--> statement-breakpoint
ALTER TABLE "rescue_runs" ADD COLUMN "diagnosis_before_repair" jsonb;--> statement-breakpoint
ALTER TABLE "audit_results" ADD CONSTRAINT "audit_results_audit_id_audit_runs_id_fk" FOREIGN KEY ("audit_id") REFERENCES "public"."audit_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_install_id_install_history_id_fk" FOREIGN KEY ("install_id") REFERENCES "public"."install_history"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "alerts_system_idx" ON "alerts" USING btree ("system_name","id");--> statement-breakpoint
CREATE INDEX "alerts_fingerprint_idx" ON "alerts" USING btree ("fingerprint","starts_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_results_audit_system_idx" ON "audit_results" USING btree ("audit_id","system_name");--> statement-breakpoint
CREATE INDEX "audit_results_system_idx" ON "audit_results" USING btree ("system_name","probed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_runs_one_open_idx" ON "audit_runs" USING btree ("state") WHERE finished_at is null;--> statement-breakpoint
CREATE INDEX "audit_runs_started_idx" ON "audit_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "guard_decisions_at_idx" ON "guard_decisions" USING btree ("at");--> statement-breakpoint
CREATE INDEX "guard_decisions_system_idx" ON "guard_decisions" USING btree ("system_name","at");--> statement-breakpoint
CREATE UNIQUE INDEX "guard_incidents_one_open_idx" ON "guard_incidents" USING btree ("group_label","group_value") WHERE closed_at is null;--> statement-breakpoint
CREATE INDEX "install_tokens_system_idx" ON "install_tokens" USING btree ("system_id","closed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_queue_one_waiting_idx" ON "rescue_queue" USING btree ("system_name") WHERE state = 'waiting';--> statement-breakpoint
CREATE INDEX "rescue_queue_state_idx" ON "rescue_queue" USING btree ("state","id");--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_slots_one_open_idx" ON "rescue_slots" USING btree ("system_name") WHERE released_at is null;--> statement-breakpoint
CREATE INDEX "rescue_slots_admitted_idx" ON "rescue_slots" USING btree ("admitted_at");--> statement-breakpoint
CREATE INDEX "boot_fetches_at_idx" ON "boot_fetches" USING btree ("at");--> statement-breakpoint
CREATE INDEX "events_at_idx" ON "events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_workflow_idx" ON "rescue_handshakes" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_mac_idx" ON "rescue_handshakes" USING btree ("mac");