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
CREATE INDEX "alerts_system_idx" ON "alerts" USING btree ("system_name","id");--> statement-breakpoint
CREATE INDEX "alerts_fingerprint_idx" ON "alerts" USING btree ("fingerprint","starts_at");--> statement-breakpoint
CREATE INDEX "guard_decisions_at_idx" ON "guard_decisions" USING btree ("at");--> statement-breakpoint
CREATE INDEX "guard_decisions_system_idx" ON "guard_decisions" USING btree ("system_name","at");--> statement-breakpoint
CREATE UNIQUE INDEX "guard_incidents_one_open_idx" ON "guard_incidents" USING btree ("group_label","group_value") WHERE closed_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_queue_one_waiting_idx" ON "rescue_queue" USING btree ("system_name") WHERE state = 'waiting';--> statement-breakpoint
CREATE INDEX "rescue_queue_state_idx" ON "rescue_queue" USING btree ("state","id");--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_slots_one_open_idx" ON "rescue_slots" USING btree ("system_name") WHERE released_at is null;--> statement-breakpoint
CREATE INDEX "rescue_slots_admitted_idx" ON "rescue_slots" USING btree ("admitted_at");