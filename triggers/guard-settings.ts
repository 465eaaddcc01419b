// The guard's settings: what it lets automation do to a fleet. Safe defaults out of the box: few rescues
// at once, one per rack, a day's cooldown per machine, a hold to spot whole racks breaking together.
import { z } from 'zod';

const count = z.number().int().min(0).max(100_000);
const milliseconds = z.number().int().min(0).max(365 * 86_400_000);

export const guardSettingsSchema = z.strictObject({
  /** Rescues in flight fleet-wide (automatic and operators' alike count). */
  maxInFlight: count,
  /** Rescues in flight per group, by a system label: { rack: 1 }. The labels are also the correlation groups. */
  maxPerGroup: z.record(z.string().regex(/^[A-Za-z0-9_.\/-]{1,63}$/), count),
  /** This many machines of one group breaking within the window is one incident, not N rescues. */
  correlationMachines: z.number().int().min(2).max(100_000),
  correlationWindowMs: milliseconds,
  /** How long a machine of a group is held before it is power-cycled, to see whether its neighbours break too. */
  correlationHoldMs: milliseconds,
  /** More than this share of the fleet broken within the correlation window pauses automation (blind monitoring). */
  brakeShare: z.number().min(0).max(1),
  /** ... and at least this many machines. */
  brakeMinMachines: count,
  /** After an automatic rescue of a machine ends, no other automatic one for this long. */
  cooldownMs: milliseconds,
  /** After this many failed automatic rescues of a machine in a row, none until an operator rescues it. */
  maxFailures: z.number().int().min(1).max(1000),
  /**
   * Power cycles (power on, cycle, reset) by automatic rescues per hour fleet-wide; a rescue admitted that has not
   * cycled yet counts as one. Defers new automatic starts only: a running rescue's own operations always go.
   */
  maxCyclesPerHour: count,
  /** Record what would have been done; start nothing, touch no BMC. */
  dryRun: z.boolean(),
});

export type GuardSettings = z.infer<typeof guardSettingsSchema>;

export const DEFAULT_GUARD_SETTINGS: GuardSettings = {
  maxInFlight: 3,
  maxPerGroup: { rack: 1 },
  correlationMachines: 3,
  correlationWindowMs: 10 * 60_000,
  correlationHoldMs: 60_000,
  brakeShare: 0.2,
  brakeMinMachines: 5,
  cooldownMs: 24 * 3_600_000,
  maxFailures: 2,
  maxCyclesPerHour: 10,
  dryRun: false,
};

/** Stored settings over the defaults; a setting added in a later release takes its default. */
export function effectiveGuardSettings(stored: Record<string, unknown> | undefined): GuardSettings {
  const merged = { ...DEFAULT_GUARD_SETTINGS, ...(stored ?? {}) };
  const parsed = guardSettingsSchema.safeParse(merged);
  return parsed.success ? parsed.data : DEFAULT_GUARD_SETTINGS;
}

export interface GuardPause {
  paused: boolean;
  by: string | null;
  reason: string | null;
  at: string | null;
}
