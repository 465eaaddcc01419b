CREATE TABLE "api_tokens" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_tokens_name_unique" UNIQUE("name"),
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "distros" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kernel" text NOT NULL,
	"initrd" text NOT NULL,
	"arch" text NOT NULL,
	"breed" text NOT NULL,
	"os_version" text NOT NULL,
	"kernel_options" text DEFAULT '' NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "distros_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"kind" text NOT NULL,
	"object_type" text NOT NULL,
	"object_name" text NOT NULL,
	"actor" text NOT NULL,
	"detail" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "install_history" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_id" integer NOT NULL,
	"profile_id" integer,
	"profile_name" text NOT NULL,
	"distro_name" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"outcome" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "interfaces" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_id" integer NOT NULL,
	"name" text NOT NULL,
	"mac" text NOT NULL,
	"ip" text,
	"hostname" text,
	"netmask" text,
	"gateway" text,
	CONSTRAINT "interfaces_mac_unique" UNIQUE("mac")
);
--> statement-breakpoint
CREATE TABLE "power_settings" (
	"id" serial PRIMARY KEY NOT NULL,
	"system_id" integer NOT NULL,
	"position" integer NOT NULL,
	"type" text NOT NULL,
	"address" text NOT NULL,
	"port" integer,
	"username" text,
	"password_encrypted" text,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "profile_repos" (
	"profile_id" integer NOT NULL,
	"repo_id" integer NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "profile_repos_profile_id_repo_id_pk" PRIMARY KEY("profile_id","repo_id")
);
--> statement-breakpoint
CREATE TABLE "profiles" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"distro_id" integer,
	"parent_id" integer,
	"autoinstall_template" text,
	"kernel_options" text DEFAULT '' NOT NULL,
	"rescue_policy" text,
	"rescue_environment_id" integer,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "profiles_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "repos" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"mirror" text NOT NULL,
	"arch" text NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "repos_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "rescue_environments" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kernel" text NOT NULL,
	"initrd" text NOT NULL,
	"kernel_args_template" text DEFAULT '' NOT NULL,
	"arch" text NOT NULL,
	"firmware" text[] NOT NULL,
	"os_families" text[] NOT NULL,
	"os_versions" text[] NOT NULL,
	"capabilities" text[] NOT NULL,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rescue_environments_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "systems" (
	"id" serial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"profile_id" integer NOT NULL,
	"arch" text NOT NULL,
	"firmware" text NOT NULL,
	"os_family" text,
	"os_version" text,
	"netboot_enabled" boolean DEFAULT false NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"kernel_options" text DEFAULT '' NOT NULL,
	"rescue_policy" text,
	"rescue_environment_id" integer,
	"comment" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "systems_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "install_history" ADD CONSTRAINT "install_history_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "install_history" ADD CONSTRAINT "install_history_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "interfaces" ADD CONSTRAINT "interfaces_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "power_settings" ADD CONSTRAINT "power_settings_system_id_systems_id_fk" FOREIGN KEY ("system_id") REFERENCES "public"."systems"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_repos" ADD CONSTRAINT "profile_repos_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profile_repos" ADD CONSTRAINT "profile_repos_repo_id_repos_id_fk" FOREIGN KEY ("repo_id") REFERENCES "public"."repos"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_distro_id_distros_id_fk" FOREIGN KEY ("distro_id") REFERENCES "public"."distros"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_parent_id_profiles_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."profiles"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "profiles" ADD CONSTRAINT "profiles_rescue_environment_id_rescue_environments_id_fk" FOREIGN KEY ("rescue_environment_id") REFERENCES "public"."rescue_environments"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_profile_id_profiles_id_fk" FOREIGN KEY ("profile_id") REFERENCES "public"."profiles"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "systems" ADD CONSTRAINT "systems_rescue_environment_id_rescue_environments_id_fk" FOREIGN KEY ("rescue_environment_id") REFERENCES "public"."rescue_environments"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_object_idx" ON "events" USING btree ("object_type","object_name","at");--> statement-breakpoint
CREATE INDEX "install_history_system_idx" ON "install_history" USING btree ("system_id","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "interfaces_system_name_idx" ON "interfaces" USING btree ("system_id","name");--> statement-breakpoint
CREATE INDEX "interfaces_ip_idx" ON "interfaces" USING btree ("ip");--> statement-breakpoint
CREATE UNIQUE INDEX "power_settings_system_position_idx" ON "power_settings" USING btree ("system_id","position");--> statement-breakpoint
CREATE INDEX "profiles_distro_idx" ON "profiles" USING btree ("distro_id");--> statement-breakpoint
CREATE INDEX "profiles_parent_idx" ON "profiles" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "systems_profile_idx" ON "systems" USING btree ("profile_id");