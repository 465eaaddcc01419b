// The inventory, in Cobbler's object model: distros, profiles (on a distro or a parent profile), systems
// with their interfaces and BMCs, repos, rescue environments; and what happened to them: install history
// and events. API tokens live here too. Migrations in db/migrations are generated from this file.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

export const distros = pgTable('distros', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  kernel: text('kernel').notNull(),
  initrd: text('initrd').notNull(),
  arch: text('arch').notNull(),
  breed: text('breed').notNull(),
  osVersion: text('os_version').notNull(),
  kernelOptions: text('kernel_options').notNull().default(''),
  comment: text('comment').notNull().default(''),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const rescueEnvironments = pgTable('rescue_environments', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  kernel: text('kernel').notNull(),
  initrd: text('initrd').notNull(),
  kernelArgsTemplate: text('kernel_args_template').notNull().default(''),
  arch: text('arch').notNull(),
  firmware: text('firmware').array().notNull(),
  osFamilies: text('os_families').array().notNull(),
  osVersions: text('os_versions').array().notNull(),
  capabilities: text('capabilities').array().notNull(),
  comment: text('comment').notNull().default(''),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const repos = pgTable('repos', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  mirror: text('mirror').notNull(),
  arch: text('arch').notNull(),
  comment: text('comment').notNull().default(''),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

export const profiles = pgTable(
  'profiles',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull().unique(),
    distroId: integer('distro_id').references(() => distros.id, { onDelete: 'restrict' }),
    parentId: integer('parent_id').references((): AnyPgColumn => profiles.id, { onDelete: 'restrict' }),
    autoinstallTemplate: text('autoinstall_template'),
    kernelOptions: text('kernel_options').notNull().default(''),
    rescuePolicy: text('rescue_policy'),
    rescueEnvironmentId: integer('rescue_environment_id').references(() => rescueEnvironments.id, { onDelete: 'restrict' }),
    /** After a finished install, turn the system's netboot off so that it does not loop into its installer. */
    netbootOnce: boolean('netboot_once'),
    comment: text('comment').notNull().default(''),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index('profiles_distro_idx').on(table.distroId), index('profiles_parent_idx').on(table.parentId)],
);

export const profileRepos = pgTable(
  'profile_repos',
  {
    profileId: integer('profile_id').notNull().references(() => profiles.id, { onDelete: 'cascade' }),
    repoId: integer('repo_id').notNull().references(() => repos.id, { onDelete: 'restrict' }),
    position: integer('position').notNull(),
  },
  (table) => [primaryKey({ columns: [table.profileId, table.repoId] })],
);

export const systems = pgTable(
  'systems',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull().unique(),
    profileId: integer('profile_id').notNull().references(() => profiles.id, { onDelete: 'restrict' }),
    arch: text('arch').notNull(),
    firmware: text('firmware').notNull(),
    osFamily: text('os_family'),
    osVersion: text('os_version'),
    netbootEnabled: boolean('netboot_enabled').notNull().default(false),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    kernelOptions: text('kernel_options').notNull().default(''),
    rescuePolicy: text('rescue_policy'),
    rescueEnvironmentId: integer('rescue_environment_id').references(() => rescueEnvironments.id, { onDelete: 'restrict' }),
    comment: text('comment').notNull().default(''),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [
    index('systems_profile_idx').on(table.profileId),
    // Alerts name machines in any case: a name is unique as written, and looked up in lower case.
    index('systems_name_lower_idx').on(sql`lower(${table.name})`),
  ],
);

/**
 * How many systems the inventory holds, in a few shards that add up: what the guard's blind-monitoring brake
 * measures a storm against. Kept by triggers on systems (migration 0006), whoever inserts or deletes there, so
 * an admission reads the fleet's size in a few rows instead of counting a fleet of 100,000 under its lock.
 * A transaction adds to the shard of its connection (its backend's pid): concurrent inventory writes seldom
 * wait for each other's row.
 */
export const fleetSizeShards = pgTable('fleet_size_shards', {
  shard: integer('shard').primaryKey(),
  systems: bigint('systems', { mode: 'number' }).notNull(),
});

export const interfaces = pgTable(
  'interfaces',
  {
    id: serial('id').primaryKey(),
    systemId: integer('system_id').notNull().references(() => systems.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    mac: text('mac').notNull().unique(),
    ip: text('ip'),
    hostname: text('hostname'),
    netmask: text('netmask'),
    gateway: text('gateway'),
  },
  (table) => [
    uniqueIndex('interfaces_system_name_idx').on(table.systemId, table.name),
    index('interfaces_ip_idx').on(table.ip),
    // Alerts name machines by host name, in any case.
    index('interfaces_hostname_lower_idx').on(sql`lower(${table.hostname})`),
  ],
);

export const powerSettings = pgTable(
  'power_settings',
  {
    id: serial('id').primaryKey(),
    systemId: integer('system_id').notNull().references(() => systems.id, { onDelete: 'cascade' }),
    /** Order in the driver chain: 0 is tried first. */
    position: integer('position').notNull(),
    type: text('type').notNull(),
    address: text('address').notNull(),
    port: integer('port'),
    username: text('username'),
    /** AES-256-GCM ciphertext (secrets/cipher.ts); never the password itself. */
    passwordEncrypted: text('password_encrypted'),
    options: jsonb('options').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
  },
  (table) => [uniqueIndex('power_settings_system_position_idx').on(table.systemId, table.position)],
);

export const installHistory = pgTable(
  'install_history',
  {
    id: serial('id').primaryKey(),
    systemId: integer('system_id').notNull().references(() => systems.id, { onDelete: 'cascade' }),
    profileId: integer('profile_id').references(() => profiles.id, { onDelete: 'set null' }),
    /** Names as they were at install time, so history survives renames and removals. */
    profileName: text('profile_name').notNull(),
    distroName: text('distro_name').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    outcome: text('outcome').notNull(),
  },
  (table) => [index('install_history_system_idx').on(table.systemId, table.startedAt)],
);

export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    kind: text('kind').notNull(),
    objectType: text('object_type').notNull(),
    objectName: text('object_name').notNull(),
    actor: text('actor').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  },
  (table) => [index('events_object_idx').on(table.objectType, table.objectName, table.at), index('events_at_idx').on(table.at)],
);

export const apiTokens = pgTable('api_tokens', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  role: text('role').notNull(),
  /** sha256 of the token; the token itself is shown once, at creation. */
  tokenHash: text('token_hash').notNull().unique(),
  /** Webhook tokens: the HMAC-SHA256 secret for signed deliveries, encrypted (secrets/cipher.ts). */
  hmacSecretEncrypted: text('hmac_secret_encrypted'),
  createdAt: createdAt(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
});

/** Autoinstall templates (kickstart, preseed, autoyast, cloud-init) in Liquid (boot/templates.ts), referenced by profiles. */
export const templates = pgTable('templates', {
  id: serial('id').primaryKey(),
  name: text('name').notNull().unique(),
  kind: text('kind').notNull(),
  body: text('body').notNull(),
  comment: text('comment').notNull().default(''),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/**
 * A one-time boot config that takes precedence over the system's own (a rescue environment while a
 * rescue runs, or a reinstall). Removed by the rescue's cleanup; expires so that none is left behind.
 */
export const bootOverrides = pgTable('boot_overrides', {
  systemId: integer('system_id')
    .primaryKey()
    .references(() => systems.id, { onDelete: 'cascade' }),
  kind: text('kind').notNull(),
  label: text('label').notNull(),
  kernel: text('kernel').notNull(),
  initrd: text('initrd').notNull(),
  /** The kernel arguments with their secrets (a rescue's phone-home token) masked: what operators are shown. */
  append: text('append').notNull(),
  /** The kernel arguments as the machine gets them, AES-256-GCM ciphertext (secrets/cipher.ts); null: same as append. */
  appendEncrypted: text('append_encrypted'),
  /** The rescue (workflow ID) or install that owns it. */
  owner: text('owner').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});

/** Every file a machine fetched over TFTP or HTTP: install progress, and a rescue's evidence. */
export const bootFetches = pgTable(
  'boot_fetches',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    systemId: integer('system_id').references(() => systems.id, { onDelete: 'cascade' }),
    mac: text('mac'),
    clientAddress: text('client_address').notNull(),
    protocol: text('protocol').notNull(),
    file: text('file').notNull(),
    bytes: integer('bytes').notNull().default(0),
    outcome: text('outcome').notNull(),
  },
  (table) => [
    index('boot_fetches_system_idx').on(table.systemId, table.at),
    index('boot_fetches_client_idx').on(table.clientAddress, table.at),
    index('boot_fetches_at_idx').on(table.at),
  ],
);

/** The record of every rescue: who asked, what happened step by step, and how it ended. */
export const rescueRuns = pgTable(
  'rescue_runs',
  {
    id: serial('id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    systemId: integer('system_id').references(() => systems.id, { onDelete: 'set null' }),
    systemName: text('system_name').notNull(),
    reason: text('reason').notNull(),
    requestedBy: text('requested_by').notNull(),
    state: text('state').notNull(),
    outcome: text('outcome'),
    environment: text('environment'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    steps: jsonb('steps').$type<Array<{ step: string; startedAt: string; finishedAt: string | null; outcome: string }>>().notNull().default(sql`'[]'::jsonb`),
    /** The latest diagnosis report: after the repair when one ran. */
    diagnosis: jsonb('diagnosis').$type<Record<string, unknown> | null>(),
    /** The diagnosis the repair worked from, kept when a repair ran (diagnosis is then the one after it). */
    diagnosisBeforeRepair: jsonb('diagnosis_before_repair').$type<Record<string, unknown> | null>(),
    repairs: jsonb('repairs').$type<Array<Record<string, unknown>>>().notNull().default(sql`'[]'::jsonb`),
    evidence: jsonb('evidence').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    error: text('error'),
  },
  (table) => [
    uniqueIndex('rescue_runs_run_idx').on(table.workflowId, table.runId),
    // At most one rescue in flight per machine, whatever asked for it.
    uniqueIndex('rescue_runs_one_open_per_system_idx').on(table.systemName).where(sql`finished_at is null`),
    index('rescue_runs_system_idx').on(table.systemName, table.startedAt),
  ],
);

/** One rescue's boot handshake: the token (hashed), the ephemeral SSH key (encrypted), what phoned home. */
export const rescueHandshakes = pgTable(
  'rescue_handshakes',
  {
    id: text('id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    systemName: text('system_name').notNull(),
    mac: text('mac').notNull(),
    tokenHash: text('token_hash').notNull().unique(),
    privateKeyEncrypted: text('private_key_encrypted').notNull(),
    publicKey: text('public_key').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** The first address that fetched this rescue's iPXE script: where the phone-home must come from when the inventory has no IP. */
    bootScriptFetchedFrom: text('boot_script_fetched_from'),
    phonedHomeAt: timestamp('phoned_home_at', { withTimezone: true }),
    /** The source address of the accepted phone-home (the first valid call; every later one is refused). */
    phoneHomeSource: text('phone_home_source'),
    ip: text('ip'),
    hostKey: text('host_key'),
    sshPort: integer('ssh_port'),
  },
  (table) => [index('rescue_handshakes_workflow_idx').on(table.workflowId), index('rescue_handshakes_mac_idx').on(table.mac)],
);

/**
 * The token an install's status callbacks carry (/boot/status/<system>/started|finished|failed): one per
 * install, opened when netboot is enabled or a reinstall pushes its boot config, random, stored hashed
 * (for lookup) and encrypted (to render it into the autoinstall file again), expiring from the first time
 * the machine fetched it, and closed when the install finishes or fails.
 */
export const installTokens = pgTable(
  'install_tokens',
  {
    id: serial('id').primaryKey(),
    systemId: integer('system_id').notNull().references(() => systems.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    tokenEncrypted: text('token_encrypted').notNull(),
    /** Who opened it: "netboot enabled by <actor>" or the reinstall's workflow ID. */
    openedBy: text('opened_by').notNull(),
    createdAt: createdAt(),
    /** Null until the machine first fetched its autoinstall file: the clock starts then. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    installId: integer('install_id').references(() => installHistory.id, { onDelete: 'set null' }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedReason: text('closed_reason'),
  },
  (table) => [index('install_tokens_system_idx').on(table.systemId, table.closedAt)],
);

/** Fleet audits: one row per run (scheduled or manual), at most one open at a time. */
export const auditRuns = pgTable(
  'audit_runs',
  {
    id: serial('id').primaryKey(),
    /** The workflow that runs (or ran) it; continue-as-new keeps the ID. */
    workflowId: text('workflow_id').notNull(),
    /** 'schedule' | 'manual' */
    trigger: text('trigger').notNull(),
    requestedBy: text('requested_by').notNull(),
    /** 'running' | 'finished' | 'failed' | 'skipped' | 'abandoned' */
    state: text('state').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    /** Touched while batches run; an open run not touched for the lease is abandoned by the next one. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    /** Systems in the inventory when the run began, and how many have been probed so far. */
    systemsTotal: integer('systems_total').notNull().default(0),
    probed: integer('probed').notNull().default(0),
    healthy: integer('healthy').notNull().default(0),
    suspect: integer('suspect').notNull().default(0),
    broken: integer('broken').notNull().default(0),
    /** Why it was skipped, failed or abandoned. */
    note: text('note'),
  },
  (table) => [
    // One audit at a time, whatever started it: a manual run never overlaps a scheduled one.
    uniqueIndex('audit_runs_one_open_idx').on(table.state).where(sql`finished_at is null`),
    index('audit_runs_started_idx').on(table.startedAt),
  ],
);

/** One machine's verdict in one audit, and what the guard decided for a broken one. */
export const auditResults = pgTable(
  'audit_results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    auditId: integer('audit_id').notNull().references(() => auditRuns.id, { onDelete: 'cascade' }),
    systemName: text('system_name').notNull(),
    classification: text('classification').notNull(),
    reason: text('reason').notNull(),
    /** What the probes saw (BMC, event log, OS check, last install, open rescue); no secrets. */
    observation: jsonb('observation').$type<Record<string, unknown>>().notNull(),
    probedAt: timestamp('probed_at', { withTimezone: true }).notNull().defaultNow(),
    /** For broken machines: the admission's decision, its reason, and the rescue it started or joined. */
    admission: text('admission'),
    admissionReason: text('admission_reason'),
    rescueWorkflowId: text('rescue_workflow_id'),
  },
  (table) => [
    uniqueIndex('audit_results_audit_system_idx').on(table.auditId, table.systemName),
    index('audit_results_system_idx').on(table.systemName, table.probedAt),
  ],
);

// ---- triggers: alerts, and the guard that admits automatic rescues (triggers/) ----

/** Every alert received (Alertmanager webhook, generic webhook, poller), with what the guard decided. */
export const alerts = pgTable(
  'alerts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    /** alertmanager | generic | poller */
    receiver: text('receiver').notNull(),
    /** Who delivered it: the token's name, or the poller's Alertmanager URL. */
    deliveredBy: text('delivered_by').notNull(),
    fingerprint: text('fingerprint').notNull(),
    status: text('status').notNull(),
    alertName: text('alert_name'),
    labels: jsonb('labels').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    annotations: jsonb('annotations').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    startsAt: text('starts_at'),
    systemName: text('system_name'),
    decision: text('decision').notNull(),
    reason: text('reason').notNull(),
    workflowId: text('workflow_id'),
  },
  (table) => [index('alerts_system_idx').on(table.systemName, table.id), index('alerts_fingerprint_idx').on(table.fingerprint, table.startsAt)],
);

/** The guard's settings and its pause: one row (id 1). Settings are JSON checked by triggers/guard-settings.ts. */
export const guardSettings = pgTable('guard_settings', {
  id: integer('id').primaryKey(),
  settings: jsonb('settings').$type<Record<string, unknown>>().notNull(),
  paused: boolean('paused').notNull().default(false),
  pausedBy: text('paused_by'),
  pausedReason: text('paused_reason'),
  pausedAt: timestamp('paused_at', { withTimezone: true }),
  updatedAt: updatedAt(),
  updatedBy: text('updated_by'),
});

/** No automatic rescue of the systems a window names (one system, or every system with a label) while it lasts. */
export const maintenanceWindows = pgTable('maintenance_windows', {
  id: serial('id').primaryKey(),
  systemName: text('system_name'),
  labelKey: text('label_key'),
  labelValue: text('label_value'),
  startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
  endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
  reason: text('reason').notNull(),
  createdBy: text('created_by').notNull(),
  createdAt: createdAt(),
});

/** Many machines of one group broken at once (a switch, a PDU): none is power-cycled, an operator looks. */
export const guardIncidents = pgTable(
  'guard_incidents',
  {
    id: serial('id').primaryKey(),
    groupLabel: text('group_label').notNull(),
    groupValue: text('group_value').notNull(),
    systems: jsonb('systems').$type<string[]>().notNull().default(sql`'[]'::jsonb`),
    reason: text('reason').notNull(),
    openedAt: timestamp('opened_at', { withTimezone: true }).notNull().defaultNow(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedBy: text('closed_by'),
  },
  (table) => [uniqueIndex('guard_incidents_one_open_idx').on(table.groupLabel, table.groupValue).where(sql`closed_at is null`)],
);

/** The guard's decision log: every admission decision with its reason. */
export const guardDecisions = pgTable(
  'guard_decisions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    systemName: text('system_name').notNull(),
    source: text('source').notNull(),
    /** intake: a request as it arrived; queue: a deferred request decided later. */
    phase: text('phase').notNull(),
    alertId: text('alert_id'),
    /** The system's group label values when decided ({"rack": "r1"}), for correlation. */
    groups: jsonb('groups').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    decision: text('decision').notNull(),
    reason: text('reason').notNull(),
    workflowId: text('workflow_id'),
  },
  (table) => [index('guard_decisions_at_idx').on(table.at), index('guard_decisions_system_idx').on(table.systemName, table.at)],
);

/**
 * Each machine's latest intake request that was not a join: what the guard counts as a machine broken lately,
 * within its correlation window. Kept by a trigger on guard_decisions (migration 0005), whoever writes there,
 * so the admission facts count a storm's broken machines through an index instead of grouping its decisions.
 */
export const guardBrokenMachines = pgTable(
  'guard_broken_machines',
  {
    systemName: text('system_name').primaryKey(),
    /** When that request was decided. */
    at: timestamp('at', { withTimezone: true }).notNull(),
    /** Its groups ({"rack": "r1"}). */
    groups: jsonb('groups').$type<Record<string, string>>().notNull(),
  },
  (table) => [index('guard_broken_machines_at_idx').on(table.at), index('guard_broken_machines_grouped_at_idx').on(table.at).where(sql`groups <> '{}'::jsonb`)],
);

/**
 * Counts the guard reads under its lock that would otherwise grow with a storm, kept by triggers (migration
 * 0006) by whoever writes the rows they count: `open_slots`, the guard's slots not yet released.
 */
export const guardCounts = pgTable('guard_counts', {
  name: text('name').primaryKey(),
  n: bigint('n', { mode: 'number' }).notNull(),
});

/**
 * Rows counted by 10-second bucket of their time, kept by triggers (migrations 0006, 0009): `power_cycles`,
 * guard_power_cycles by time, and `reserved_cycles`, the guard's slots that have not cycled yet by admission
 * time (together the power cycles of the last hour); `broken`, guard_broken_machines by time (for the
 * machines broken within the correlation window). A window's count is the sum of the buckets that lie wholly
 * inside it plus an exact count of the rows in the one bucket its start cuts: at most 10 seconds of rows,
 * whatever the storm. A broken bucket that falls to zero is deleted; cycle buckets older than two hours are
 * deleted as new ones come, so the table stays as small as the windows. The slots and power cycles are
 * counted by statement triggers on their tables; the broken machines where migration 0005's trigger writes
 * guard_broken_machines (its only writer), one row per decision.
 */
export const guardCountBuckets = pgTable(
  'guard_count_buckets',
  {
    kind: text('kind').notNull(),
    bucket: timestamp('bucket', { withTimezone: true }).notNull(),
    n: integer('n').notNull(),
  },
  (table) => [primaryKey({ columns: [table.kind, table.bucket] })],
);

/**
 * The power operations of automatic rescues (the slot's workflow) that powered a machine up or restarted it
 * (on, cycle, reset): the guard's power cycles per hour. Written under the guard's lock, counted in buckets by
 * a trigger (migration 0009); rows older than two hours go as new buckets come.
 */
export const guardPowerCycles = pgTable(
  'guard_power_cycles',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    systemName: text('system_name').notNull(),
    workflowId: text('workflow_id').notNull(),
    action: text('action').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('guard_power_cycles_at_idx').on(table.at)],
);

/** Deferred automatic rescues, started in arrival order (enqueued_at, then id) when the guard has room. */
export const rescueQueue = pgTable(
  'rescue_queue',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    systemName: text('system_name').notNull(),
    source: text('source').notNull(),
    reason: text('reason').notNull(),
    alertId: text('alert_id'),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }).notNull().defaultNow(),
    notBefore: timestamp('not_before', { withTimezone: true }).notNull().defaultNow(),
    /** waiting | started | joined | refused | withdrawn */
    state: text('state').notNull().default('waiting'),
    lastReason: text('last_reason').notNull(),
    workflowId: text('workflow_id'),
    decidedAt: timestamp('decided_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('rescue_queue_one_waiting_idx').on(table.systemName).where(sql`state = 'waiting'`), index('rescue_queue_state_idx').on(table.state, table.id)],
);

/** Automatic rescues the guard let through: open while the rescue runs, the basis of caps and cooldowns. */
export const rescueSlots = pgTable(
  'rescue_slots',
  {
    id: serial('id').primaryKey(),
    systemName: text('system_name').notNull(),
    workflowId: text('workflow_id').notNull(),
    source: text('source').notNull(),
    groups: jsonb('groups').$type<Record<string, string>>().notNull().default(sql`'{}'::jsonb`),
    admittedAt: timestamp('admitted_at', { withTimezone: true }).notNull().defaultNow(),
    releasedAt: timestamp('released_at', { withTimezone: true }),
    /** When its rescue first powered the machine up or restarted it; until then its first cycle is reserved. */
    firstPowerCycleAt: timestamp('first_power_cycle_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('rescue_slots_one_open_idx').on(table.systemName).where(sql`released_at is null`),
    index('rescue_slots_admitted_idx').on(table.admittedAt),
    // A machine's last automatic rescue (cooldowns): the slots table keeps every one ever admitted.
    index('rescue_slots_system_released_idx').on(table.systemName, table.releasedAt),
  ],
);
