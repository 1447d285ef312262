ALTER TABLE `tenant_keks` ADD `root_key` text;--> statement-breakpoint
ALTER TABLE `tenant_keks` ADD `root_job` text;--> statement-breakpoint
ALTER TABLE `tenants` ADD `status` text DEFAULT 'active' NOT NULL;--> statement-breakpoint
CREATE INDEX `tenants_status_id` ON `tenants` (`status`,`id`);