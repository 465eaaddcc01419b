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
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_tokens" ADD CONSTRAINT "install_tokens_install_id_install_history_id_fk" FOREIGN KEY ("install_id") REFERENCES "public"."install_history"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "install_tokens_system_idx" ON "install_tokens" USING btree ("system_id","closed_at");--> statement-breakpoint
CREATE INDEX "boot_fetches_at_idx" ON "boot_fetches" USING btree ("at");--> statement-breakpoint
CREATE INDEX "events_at_idx" ON "events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_workflow_idx" ON "rescue_handshakes" USING btree ("workflow_id");--> statement-breakpoint
CREATE INDEX "rescue_handshakes_mac_idx" ON "rescue_handshakes" USING btree ("mac");