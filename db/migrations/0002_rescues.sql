CREATE TABLE "rescue_handshakes" (
	"id" text PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"system_name" text NOT NULL,
	"mac" text NOT NULL,
	"token_hash" text NOT NULL,
	"private_key_encrypted" text NOT NULL,
	"public_key" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"phoned_home_at" timestamp with time zone,
	"ip" text,
	"host_key" text,
	"ssh_port" integer,
	CONSTRAINT "rescue_handshakes_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "rescue_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"workflow_id" text NOT NULL,
	"run_id" text NOT NULL,
	"system_id" integer,
	"system_name" text NOT NULL,
	"reason" text NOT NULL,
	"requested_by" text NOT NULL,
	"state" text NOT NULL,
	"outcome" text,
	"environment" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"steps" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"diagnosis" jsonb,
	"repairs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "rescue_runs" ADD CONSTRAINT "rescue_runs_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_runs_run_idx" ON "rescue_runs" USING btree ("workflow_id","run_id");--> statement-breakpoint
CREATE UNIQUE INDEX "rescue_runs_one_open_per_system_idx" ON "rescue_runs" USING btree ("system_name") WHERE finished_at is null;--> statement-breakpoint
CREATE INDEX "rescue_runs_system_idx" ON "rescue_runs" USING btree ("system_name","started_at");