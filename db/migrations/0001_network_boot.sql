CREATE TABLE "boot_fetches" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"system_id" integer,
	"mac" text,
	"client_address" text NOT NULL,
	"protocol" text NOT NULL,
	"file" text NOT NULL,
	"bytes" integer DEFAULT 0 NOT NULL,
	"outcome" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "boot_overrides" (
	"system_id" integer PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"label" text NOT NULL,
	"kernel" text NOT NULL,
	"initrd" text NOT NULL,
	"append" text NOT NULL,
	"owner" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"body" text NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "profiles" ADD COLUMN "netboot_once" boolean;--> statement-breakpoint
ALTER TABLE "boot_fetches" ADD CONSTRAINT "boot_fetches_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "boot_overrides" ADD CONSTRAINT "boot_overrides_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "boot_fetches_system_idx" ON "boot_fetches" USING btree ("system_id","at");--> statement-breakpoint
CREATE INDEX "boot_fetches_client_idx" ON "boot_fetches" USING btree ("client_address","at");