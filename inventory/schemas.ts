// What an inventory object looks like at the API boundary, as zod schemas: the API validates with them,
// the OpenAPI document is generated from them, and the CLI builds the same shapes. Unknown fields are
// refused (a misspelt "pasword" must not be dropped silently).
import { z } from 'zod';
import { isIP } from 'node:net';
import { canonicalIp } from './ip.js';
import { normalizeMac } from './mac.js';
import { ownRecord } from './own-record.js';
import { kernelCommandLineProblem } from '../boot/kernel-options.js';

export const OBJECT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,127}$/;
export const objectName = z
  .string()
  .regex(OBJECT_NAME_PATTERN, 'must start with a letter or digit and use only letters, digits and _ . : + - (at most 128)');

export const ARCHITECTURES = ['x86_64', 'aarch64', 'i386', 'ppc64le', 's390x', 'armv7l', 'riscv64'] as const;
export const BREEDS = ['redhat', 'debian', 'ubuntu', 'suse', 'freebsd', 'generic'] as const;
export const FIRMWARES = ['bios', 'uefi'] as const;
export const RESCUE_POLICIES = ['diagnose-only', 'repair', 'repair-then-reinstall'] as const;
export const RESCUE_CAPABILITIES = ['ssh', 'phone-home'] as const;

export const architecture = z.enum(ARCHITECTURES);
export const breed = z.enum(BREEDS);
export const firmware = z.enum(FIRMWARES);
export const rescuePolicy = z.enum(RESCUE_POLICIES);

const text = (max: number) => z.string().max(max);
const bootPath = z.string().min(1).max(1024).refine((v) => !/[\s\0]/.test(v), 'must not contain white space');
const kernelOptions = z
  .string()
  .max(4096)
  .superRefine((value, context) => {
    const problem = kernelCommandLineProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem, input: value });
  });
/** A rescue environment's kernel arguments are a template: what they render to is checked when rendered (activities/rescue.ts). */
const kernelArgsTemplate = z.string().max(4096).refine((v) => !/[\n\r\0]/.test(v), 'must be on one line');
const osVersion = z.string().min(1).max(64).regex(/^[A-Za-z0-9._*-]+$/, 'must be a version such as 9, 9.4, 22.04 or 12');

/** Stored in one spelling (inventory/ip.ts), so that an alert naming the address in another still finds it. */
const ipAddress = z
  .string()
  .refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address')
  .transform((v) => canonicalIp(v) ?? v);
const netmask = z
  .string()
  .refine((v) => isIP(v) === 4 || /^\/?\d{1,3}$/.test(v), 'must be a dotted netmask (255.255.255.0) or a prefix length (24)');
const hostname = z
  .string()
  .max(253)
  .regex(/^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a host name such as web01.example.com');

export const macAddress = z.string().transform((value, context) => {
  try {
    return normalizeMac(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

type UpdateShape<Shape extends z.ZodRawShape> = {
  [K in keyof Shape]: z.ZodOptional<Shape[K] extends z.ZodDefault<infer Inner> ? Inner : Shape[K]>;
};

/**
 * The schema of a partial update (PATCH): every field optional and, unlike zod's .partial(), without the
 * create schema's defaults, so that a field left out keeps its stored value instead of being reset.
 */
function updateShapeOf<Shape extends z.ZodRawShape>(shape: Shape): UpdateShape<Shape> {
  return Object.fromEntries(
    Object.entries(shape).map(([key, field]) => [key, (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as unknown as z.ZodType)).optional()]),
  ) as unknown as UpdateShape<Shape>;
}

const labelMap = ownRecord(
  z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/, 'label names use letters, digits and _ . / -'),
  z.string().max(256),
);

// ---- distro ----
const distroFields = {
  name: objectName,
  kernel: bootPath,
  initrd: bootPath,
  arch: architecture,
  breed,
  osVersion,
  kernelOptions: kernelOptions.default(''),
  comment: text(1024).default(''),
};
export const distroCreate = z.strictObject(distroFields);
export const distroUpdate = z.strictObject(updateShapeOf(distroFields));
export const distroView = z.object(distroFields).extend({ createdAt: z.string(), updatedAt: z.string() });

// ---- repo ----
const repoFields = {
  name: objectName,
  mirror: z.url({ protocol: /^(https?|ftp|rsync|file)$/ }).max(2048),
  arch: architecture,
  comment: text(1024).default(''),
};
export const repoCreate = z.strictObject(repoFields);
export const repoUpdate = z.strictObject(updateShapeOf(repoFields));
export const repoView = z.object(repoFields).extend({ createdAt: z.string(), updatedAt: z.string() });

// ---- rescue environment ----
const rescueEnvironmentFields = {
  name: objectName,
  kernel: bootPath,
  initrd: bootPath,
  kernelArgs: kernelArgsTemplate.default(''),
  arch: architecture,
  firmware: z.array(firmware).min(1).default(['bios', 'uefi']),
  osFamilies: z.array(breed).min(1),
  osVersions: z.array(osVersion).min(1).default(['*']),
  capabilities: z.array(z.enum(RESCUE_CAPABILITIES)).default(['ssh', 'phone-home']),
  comment: text(1024).default(''),
};
export const rescueEnvironmentCreate = z.strictObject(rescueEnvironmentFields);
export const rescueEnvironmentUpdate = z.strictObject(updateShapeOf(rescueEnvironmentFields));
export const rescueEnvironmentView = z.object(rescueEnvironmentFields).extend({ createdAt: z.string(), updatedAt: z.string() });

// ---- profile ----
const profileFields = {
  name: objectName,
  distro: objectName.nullable().optional(),
  parent: objectName.nullable().optional(),
  autoinstall: objectName.nullable().optional(),
  kernelOptions: kernelOptions.default(''),
  repos: z.array(objectName).default([]),
  rescuePolicy: rescuePolicy.nullable().optional(),
  rescueEnvironment: objectName.nullable().optional(),
  /** Turn the system's netboot off when its install finishes (inherited; default true). */
  netbootOnce: z.boolean().nullable().optional(),
  comment: text(1024).default(''),
};
export const profileCreate = z.strictObject(profileFields).superRefine((profile, context) => {
  const hasDistro = profile.distro != null;
  const hasParent = profile.parent != null;
  if (hasDistro === hasParent) {
    context.addIssue({ code: 'custom', path: ['distro'], message: 'give exactly one of distro or parent' });
  }
});
export const profileUpdate = z.strictObject(updateShapeOf(profileFields));
export const profileView = z.object({
  ...profileFields,
  distro: z.string().nullable(),
  parent: z.string().nullable(),
  autoinstall: z.string().nullable(),
  rescuePolicy: rescuePolicy.nullable(),
  rescueEnvironment: z.string().nullable(),
  netbootOnce: z.boolean().nullable(),
  /** The distro reached through the parent chain. */
  effectiveDistro: z.string(),
  effectiveNetbootOnce: z.boolean(),
  effectiveRescuePolicy: rescuePolicy,
  createdAt: z.string(),
  updatedAt: z.string(),
});

// ---- system ----
export const interfaceInput = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$/, 'must be an interface name such as eth0').default('eth0'),
  mac: macAddress,
  ip: ipAddress.nullable().optional(),
  hostname: hostname.nullable().optional(),
  netmask: netmask.nullable().optional(),
  gateway: ipAddress.nullable().optional(),
});

export const powerType = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'must be a driver name such as ipmi, redfish or a fence agent (ipmilan, drac5, ...)');
export const powerOptions = ownRecord(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'option names use letters, digits, _ and -'),
  z.string().max(1024).refine((v) => !/[\n\r\0]/.test(v), 'option values must be on one line'),
);
export const powerInput = z.strictObject({
  type: powerType,
  address: z.string().min(1).max(255).refine((v) => !/[\s\0]/.test(v), 'must not contain white space'),
  port: z.number().int().min(1).max(65535).nullable().optional(),
  user: z.string().max(128).nullable().optional(),
  /** Write-only. Absent: keep the stored password of the entry at this position; null: clear it. */
  password: z.string().max(256).nullable().optional(),
  options: powerOptions.default({}),
});
export const powerView = z.object({
  type: z.string(),
  address: z.string(),
  port: z.number().nullable(),
  user: z.string().nullable(),
  passwordSet: z.boolean(),
  options: z.record(z.string(), z.string()),
});

const systemFields = {
  name: objectName,
  profile: objectName,
  interfaces: z.array(interfaceInput).min(1).max(32),
  arch: architecture.default('x86_64'),
  firmware: firmware.default('bios'),
  osFamily: breed.nullable().optional(),
  osVersion: osVersion.nullable().optional(),
  netbootEnabled: z.boolean().default(false),
  labels: labelMap.default({}),
  kernelOptions: kernelOptions.default(''),
  rescuePolicy: rescuePolicy.nullable().optional(),
  rescueEnvironment: objectName.nullable().optional(),
  power: z.array(powerInput).max(4).default([]),
  comment: text(1024).default(''),
};
function interfacesAreDistinct(system: { interfaces?: Array<{ name: string; mac: string }> | undefined }, context: z.RefinementCtx): void {
  const seenNames = new Set<string>();
  const seenMacs = new Set<string>();
  system.interfaces?.forEach((nic, index) => {
    if (seenNames.has(nic.name)) context.addIssue({ code: 'custom', path: ['interfaces', index, 'name'], message: `interface name "${nic.name}" is given twice` });
    if (seenMacs.has(nic.mac)) context.addIssue({ code: 'custom', path: ['interfaces', index, 'mac'], message: `MAC ${nic.mac} is given twice` });
    seenNames.add(nic.name);
    seenMacs.add(nic.mac);
  });
}
export const systemCreate = z.strictObject(systemFields).superRefine(interfacesAreDistinct);
export const systemUpdate = z.strictObject(updateShapeOf(systemFields)).superRefine(interfacesAreDistinct);
export const systemView = z.object({
  name: z.string(),
  profile: z.string(),
  interfaces: z.array(
    z.object({
      name: z.string(),
      mac: z.string(),
      ip: z.string().nullable(),
      hostname: z.string().nullable(),
      netmask: z.string().nullable(),
      gateway: z.string().nullable(),
    }),
  ),
  arch: architecture,
  firmware,
  osFamily: z.string().nullable(),
  osVersion: z.string().nullable(),
  netbootEnabled: z.boolean(),
  labels: z.record(z.string(), z.string()),
  kernelOptions: z.string(),
  rescuePolicy: rescuePolicy.nullable(),
  rescueEnvironment: z.string().nullable(),
  power: z.array(powerView),
  comment: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

// ---- autoinstall template ----
export const TEMPLATE_KINDS = ['kickstart', 'preseed', 'autoyast', 'cloud-init', 'script'] as const;
const templateFields = {
  name: objectName,
  kind: z.enum(TEMPLATE_KINDS),
  body: z.string().min(1).max(1024 * 1024),
  comment: text(1024).default(''),
};
export const templateCreate = z.strictObject(templateFields);
export const templateUpdate = z.strictObject(updateShapeOf(templateFields));
export const templateView = z.object(templateFields).extend({ createdAt: z.string(), updatedAt: z.string() });

export const installRecordView = z.object({
  id: z.number(),
  system: z.string(),
  profile: z.string(),
  distro: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  outcome: z.string(),
});

export const eventView = z.object({
  id: z.number(),
  at: z.string(),
  kind: z.string(),
  objectType: z.string(),
  objectName: z.string(),
  actor: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

export type DistroCreate = z.infer<typeof distroCreate>;
export type DistroUpdate = z.infer<typeof distroUpdate>;
export type DistroView = z.infer<typeof distroView>;
export type RepoCreate = z.infer<typeof repoCreate>;
export type RepoUpdate = z.infer<typeof repoUpdate>;
export type RepoView = z.infer<typeof repoView>;
export type RescueEnvironmentCreate = z.infer<typeof rescueEnvironmentCreate>;
export type RescueEnvironmentUpdate = z.infer<typeof rescueEnvironmentUpdate>;
export type RescueEnvironmentView = z.infer<typeof rescueEnvironmentView>;
export type ProfileCreate = z.infer<typeof profileCreate>;
export type ProfileUpdate = z.infer<typeof profileUpdate>;
export type ProfileView = z.infer<typeof profileView>;
export type SystemCreate = z.infer<typeof systemCreate>;
export type SystemUpdate = z.infer<typeof systemUpdate>;
export type SystemView = z.infer<typeof systemView>;
export type PowerInput = z.infer<typeof powerInput>;
export type PowerView = z.infer<typeof powerView>;
export type InstallRecordView = z.infer<typeof installRecordView>;
export type TemplateCreate = z.infer<typeof templateCreate>;
export type TemplateUpdate = z.infer<typeof templateUpdate>;
export type TemplateView = z.infer<typeof templateView>;
export type EventView = z.infer<typeof eventView>;
