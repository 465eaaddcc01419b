// Redfish words to ours and back (DMTF ComputerSystem schema). Pure functions, unit-tested.
import type { BootDevice, BootDeviceReading, PowerAction, PowerState } from '../types.js';

/** The ResetType values of the DMTF schema, in case a BMC does not advertise its own. */
export const STANDARD_RESET_TYPES: readonly string[] = [
  'On', 'ForceOff', 'GracefulShutdown', 'GracefulRestart', 'ForceRestart', 'Nmi', 'ForceOn', 'PushPowerButton', 'PowerCycle',
];

export interface ResetStep {
  resetType: string;
  /** Wait until the machine reads this state before the next step. */
  thenWaitFor?: PowerState;
}

// In order of preference. PushPowerButton toggles, so its effect depends on the state: it is only the soft off
// of BMCs without GracefulShutdown (HPE iLO 4: On, ForceOff, ForceRestart, Nmi, PushPowerButton), sent only
// when the machine reads on (power/readback.ts sends nothing for soft when off). A short press asks the OS to
// shut down (ACPI power button), as GracefulShutdown does.
const RESET_PREFERENCES: Record<PowerAction, readonly string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff'],
  soft: ['GracefulShutdown', 'PushPowerButton'],
  reset: ['ForceRestart', 'PowerCycle'],
  cycle: ['PowerCycle'],
};

/**
 * The ResetType(s) for an action among those the BMC allows (null or empty: it does not say, the standard list
 * is assumed). A cycle without PowerCycle, or a reset without ForceRestart and PowerCycle, is ForceOff, wait for
 * off, then On. Null when nothing fits.
 */
export function planReset(action: PowerAction, allowed: readonly string[] | null): ResetStep[] | null {
  const offered = allowed === null || allowed.length === 0 ? STANDARD_RESET_TYPES : allowed;
  const direct = RESET_PREFERENCES[action].find((resetType) => offered.includes(resetType));
  if (direct) return [{ resetType: direct }];
  if (action === 'cycle' || action === 'reset') {
    const on = RESET_PREFERENCES.on.find((resetType) => offered.includes(resetType));
    if (offered.includes('ForceOff') && on) return [{ resetType: 'ForceOff', thenWaitFor: 'off' }, { resetType: on }];
  }
  return null;
}

/** Transitional states count as where the machine still is: PoweringOn is not on yet, PoweringOff not off yet. */
export function powerStateFromRedfish(value: unknown): PowerState | null {
  switch (value) {
    case 'On':
    case 'PoweringOff':
    case 'Paused':
      return 'on';
    case 'Off':
    case 'PoweringOn':
      return 'off';
    default:
      return null;
  }
}

const BOOT_TARGETS: Record<BootDevice, string> = { pxe: 'Pxe', disk: 'Hdd', bios: 'BiosSetup' };

export function bootSourceOverrideTarget(device: BootDevice): string {
  return BOOT_TARGETS[device];
}

export function bootDeviceFromRedfish(target: unknown): BootDeviceReading['device'] {
  switch (target) {
    case 'Pxe':
      return 'pxe';
    case 'Hdd':
      return 'disk';
    case 'BiosSetup':
      return 'bios';
    case 'Cd':
      return 'cdrom';
    case 'None':
    case undefined:
    case null:
      return 'none';
    default:
      return 'other';
  }
}

/** UEFI network boot targets a BMC may report for, or accept instead of, Pxe. */
export const UEFI_NETWORK_TARGETS: readonly string[] = ['UefiTarget', 'UefiHttp'];

/**
 * A ComputerSystem's `Boot` object as a reading. `requested` is the device this driver just asked for: Dell
 * iDRAC reports "UefiTarget" after a one-time "Pxe" in UEFI mode (dell/redfish-ansible-module#74), and a
 * "UefiHttp" override is a network boot too; both read as pxe then, with a note saying so.
 */
export function bootReadingFromRedfish(boot: unknown, requested?: BootDevice): BootDeviceReading {
  const record = isRecord(boot) ? boot : {};
  const target = record['BootSourceOverrideTarget'];
  const enabled = record['BootSourceOverrideEnabled'];
  const mode = record['BootSourceOverrideMode'];
  if (requested === 'pxe' && enabled !== 'Disabled' && typeof target === 'string' && UEFI_NETWORK_TARGETS.includes(target)) {
    return {
      device: 'pxe',
      uefi: mode === 'UEFI' ? true : mode === 'Legacy' ? false : null,
      persistent: enabled === 'Continuous' ? true : enabled === 'Once' ? false : null,
      overrideActive: enabled === undefined ? null : true,
      reported: `${target} (${typeof enabled === 'string' ? enabled : 'enabled not reported'})`,
      note: target === 'UefiHttp'
        ? 'the network boot is UEFI HTTP boot (UefiHttp)'
        : `the BMC reports the network boot override as UefiTarget${typeof record['UefiTargetBootSourceOverride'] === 'string' && record['UefiTargetBootSourceOverride'] !== '' ? ` ${String(record['UefiTargetBootSourceOverride'])}` : ''} (Dell iDRAC does so after Pxe in UEFI mode)`,
    };
  }
  return {
    device: enabled === 'Disabled' ? 'none' : bootDeviceFromRedfish(target),
    uefi: mode === 'UEFI' ? true : mode === 'Legacy' ? false : null,
    persistent: enabled === 'Continuous' ? true : enabled === 'Once' ? false : null,
    overrideActive: enabled === undefined ? null : enabled !== 'Disabled',
    reported: `${typeof target === 'string' ? target : 'no target'} (${typeof enabled === 'string' ? enabled : 'enabled not reported'})`,
  };
}

/** `X@Redfish.AllowableValues` of an object, or null when the BMC does not advertise them. */
export function allowableValues(container: unknown, property: string): string[] | null {
  if (!isRecord(container)) return null;
  const values = container[`${property}@Redfish.AllowableValues`];
  if (!Array.isArray(values)) return null;
  const strings = values.filter((value): value is string => typeof value === 'string');
  // An empty list says nothing (Supermicro firmware has been seen to send one): treated as not advertised.
  return strings.length === 0 ? null : strings;
}

/** The AllowableValues of parameter `name` in an ActionInfo resource. */
export function actionInfoAllowableValues(actionInfo: unknown, name: string): string[] | null {
  if (!isRecord(actionInfo) || !Array.isArray(actionInfo['Parameters'])) return null;
  for (const parameter of actionInfo['Parameters']) {
    if (isRecord(parameter) && parameter['Name'] === name && Array.isArray(parameter['AllowableValues'])) {
      const strings = parameter['AllowableValues'].filter((value): value is string => typeof value === 'string');
      return strings.length === 0 ? null : strings;
    }
  }
  return null;
}

/** The message of a Redfish error body (`error.message` and the `@Message.ExtendedInfo` messages). */
export function redfishErrorMessage(body: unknown): string {
  if (!isRecord(body) || !isRecord(body['error'])) return '';
  const error = body['error'];
  const parts: string[] = [];
  if (typeof error['message'] === 'string') parts.push(error['message']);
  const extended = error['@Message.ExtendedInfo'];
  if (Array.isArray(extended)) {
    for (const info of extended) {
      if (isRecord(info) && typeof info['Message'] === 'string' && !parts.includes(info['Message'])) parts.push(info['Message']);
    }
  }
  return parts.join(' / ');
}

export function odataId(value: unknown): string | null {
  return isRecord(value) && typeof value['@odata.id'] === 'string' ? value['@odata.id'] : null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
