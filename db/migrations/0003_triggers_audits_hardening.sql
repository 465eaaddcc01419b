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
ALTER TABLE "boot_overrides" ADD COLUMN "append_encrypted" text;--> statement-breakpoint
ALTER TABLE "rescue_handshakes" ADD COLUMN "boot_script_fetched_from" text;--> statement-breakpoint
ALTER TABLE "rescue_handshakes" ADD COLUMN "phone_home_source" text;--> statement-breakpoint
ALTER TABLE "rescue_runs" ADD COLUMN "diagnosis_before_repair" jsonb;--> statement-breakpoint
ALTER TABLE "audit_results" ADD CONSTRAINT "audit_results_audit_id_audit_runs_id_fk" FOREIGN KEY ("audit_id") REFERENCES "public"."audit_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_install_id_install_history_id_fk" FOREIGN KEY ("install_id") REFERENCES "public"."install_history"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_results_audit_system_idx" ON "audit_results" USING btree ("audit_id","system_name");--> statement-breakpoint
CREATE INDEX "audit_results_system_idx" ON "audit_results" USING btree ("system_name","probed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_runs_one_open_idx" ON "audit_runs" USING btree ("state") WHERE finished_at is null;--> statement-breakpoint
CREATE INDEX "audit_runs_started_idx" ON "audit_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "install_tokens_system_idx" ON "install_tokens" USING btree ("system_id","closed_at");--> statement-breakpoint
CREATE INDEX "boot_fetches_at_idx" ON "boot_fetches" USING btree ("at");--> statement-breakpoint
CREATE INDEX "events_at_idx" ON "events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_workflow_idx" ON "rescue_handshakes" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_mac_idx" ON "rescue_handshakes" USING btree ("mac");