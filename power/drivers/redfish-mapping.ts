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

// In order of preference. PushPowerButton is never used: it toggles, so its effect depends on the state.
const RESET_PREFERENCES: Record<PowerAction, readonly string[]> = {
  on: ['On', 'ForceOn'],
  off: ['ForceOff'],
  soft: ['GracefulShutdown'],
  reset: ['ForceRestart', 'PowerCycle'],
  cycle: ['PowerCycle'],
};

/**
 * The ResetType(s) for an action among those the BMC allows (null: it does not say, the standard list is
 * assumed). A cycle without PowerCycle is ForceOff, wait for off, then On. Null when nothing fits.
 */
export function planReset(action: PowerAction, allowed: readonly string[] | null): ResetStep[] | null {
  const offered = allowed ?? STANDARD_RESET_TYPES;
  const direct = RESET_PREFERENCES[action].find((resetType) => offered.includes(resetType));
  if (direct) return [{ resetType: direct }];
  if (action === 'cycle') {
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

/** A ComputerSystem's `Boot` object as a reading. */
export function bootReadingFromRedfish(boot: unknown): BootDeviceReading {
  const record = isRecord(boot) ? boot : {};
  const target = record['BootSourceOverrideTarget'];
  const enabled = record['BootSourceOverrideEnabled'];
  const mode = record['BootSourceOverrideMode'];
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
  return Array.isArray(values) ? values.filter((value): value is string => typeof value === 'string') : null;
}

/** The AllowableValues of parameter `name` in an ActionInfo resource. */
export function actionInfoAllowableValues(actionInfo: unknown, name: string): string[] | null {
  if (!isRecord(actionInfo) || !Array.isArray(actionInfo['Parameters'])) return null;
  for (const parameter of actionInfo['Parameters']) {
    if (isRecord(parameter) && parameter['Name'] === name && Array.isArray(parameter['AllowableValues'])) {
      return parameter['AllowableValues'].filter((value): value is string => typeof value === 'string');
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
