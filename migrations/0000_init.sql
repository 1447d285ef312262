CREATE TABLE `credential_versions` (
	`tenant_id` text NOT NULL,
	`credential_id` text NOT NULL,
	`version` integer NOT NULL,
	`value_blob` blob NOT NULL,
	`wrapped_dek` blob NOT NULL,
	`kek_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `credential_id`, `version`)
);
--> statement-breakpoint
CREATE INDEX `credential_versions_tenant_kek` ON `credential_versions` (`tenant_id`,`kek_version`);--> statement-breakpoint
CREATE TABLE `credentials` (
	`tenant_id` text NOT NULL,
	`id` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`tags` text NOT NULL,
	`default_ttl` integer NOT NULL,
	`max_ttl` integer NOT NULL,
	`current_version` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`created_by` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`)
);
--> statement-breakpoint
CREATE UNIQUE INDEX `credentials_tenant_name` ON `credentials` (`tenant_id`,`name`);--> statement-breakpoint
CREATE TABLE `tenant_keks` (
	`tenant_id` text NOT NULL,
	`version` integer NOT NULL,
	`wrapped_kek` blob,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`destroyed_at` integer,
	PRIMARY KEY(`tenant_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
