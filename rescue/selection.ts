// Which rescue environment fits a machine: a pin on the system wins, then one on its profile (nearest
// first); otherwise the environments whose arch, firmware and OS family/version match, the most specific
// first. None fitting is an answer too, one that says what was looked for.
import type { RescueEnvironmentView } from '../inventory/schemas.js';

export interface MachineForSelection {
  name: string;
  arch: string;
  firmware: string;
  osFamily: string | null;
  osVersion: string | null;
  /** The system's own pin, then its profiles' pins nearest first (null where unset). */
  pins: Array<{ source: string; environment: string | null }>;
}

export type Selection =
  | { ok: true; environment: string; reason: string }
  | { ok: false; reason: string };

/** "9" matches "9", "9.*" matches "9.4", "*" matches anything. */
export function versionMatches(pattern: string, version: string | null): boolean {
  if (pattern === '*') return true;
  if (version === null) return false;
  if (pattern.endsWith('.*')) return version === pattern.slice(0, -2) || version.startsWith(pattern.slice(0, -1));
  return pattern === version || version.startsWith(`${pattern}.`);
}

function specificity(environment: RescueEnvironmentView, machine: MachineForSelection): number {
  // An exact version beats a wildcard; serving fewer families beats a catch-all.
  const exactVersion = environment.osVersions.some((v) => v !== '*' && versionMatches(v, machine.osVersion)) ? 10 : 0;
  return exactVersion - environment.osFamilies.length;
}

export function selectRescueEnvironment(machine: MachineForSelection, environments: RescueEnvironmentView[]): Selection {
  for (const pin of machine.pins) {
    if (pin.environment === null) continue;
    const pinned = environments.find((e) => e.name === pin.environment);
    if (pinned === undefined) return { ok: false, reason: `${pin.source} pins rescue environment "${pin.environment}", which does not exist` };
    return { ok: true, environment: pinned.name, reason: `pinned by ${pin.source}` };
  }
  const wanted = `arch ${machine.arch}, firmware ${machine.firmware}, OS ${machine.osFamily ?? 'unknown family'} ${machine.osVersion ?? 'unknown version'}`;
  const fitting = environments.filter(
    (e) =>
      e.arch === machine.arch &&
      e.firmware.includes(machine.firmware as 'bios' | 'uefi') &&
      (machine.osFamily === null || e.osFamilies.includes(machine.osFamily as RescueEnvironmentView['osFamilies'][number])) &&
      e.osVersions.some((v) => versionMatches(v, machine.osVersion) || (machine.osVersion === null && v === '*')) &&
      e.capabilities.includes('ssh') &&
      e.capabilities.includes('phone-home'),
  );
  if (fitting.length === 0) {
    return { ok: false, reason: `no rescue environment fits ${machine.name} (${wanted}; with ssh and phone-home); ${environments.length} known: ${environments.map((e) => `${e.name} [${e.arch}, ${e.firmware.join('/')}, ${e.osFamilies.join('/')} ${e.osVersions.join('/')}]`).join('; ') || 'none'}` };
  }
  const best = [...fitting].sort((a, b) => specificity(b, machine) - specificity(a, machine) || a.name.localeCompare(b.name))[0]!;
  return { ok: true, environment: best.name, reason: `matches ${wanted}${fitting.length > 1 ? ` (best of ${fitting.map((e) => e.name).join(', ')})` : ''}` };
}
