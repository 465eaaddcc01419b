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
ALTER TABLE "audit_results" ADD CONSTRAINT "audit_results_audit_id_audit_runs_id_fk" FOREIGN KEY ("audit_id") REFERENCES "public"."audit_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "audit_results_audit_system_idx" ON "audit_results" USING btree ("audit_id","system_name");--> statement-breakpoint
CREATE INDEX "audit_results_system_idx" ON "audit_results" USING btree ("system_name","probed_at");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_runs_one_open_idx" ON "audit_runs" USING btree ("state") WHERE finished_at is null;--> statement-breakpoint
CREATE INDEX "audit_runs_started_idx" ON "audit_runs" USING btree ("started_at");