// The vocabulary of BMC power management and the small capability interfaces a driver implements
// (bmclib style: a driver implements the capabilities its BMC offers, the chain asks each in turn).
import type { BmcFailure } from './errors.js';

export type PowerState = 'on' | 'off';

/** Named after `ipmitool chassis power`. "on" when already on is not an error, nor "off" when already off. */
export type PowerAction = 'on' | 'off' | 'soft' | 'reset' | 'cycle';
export const POWER_ACTIONS: readonly PowerAction[] = ['on', 'off', 'soft', 'reset', 'cycle'];

/** The one-time boot devices the rescue asks for. */
export type BootDevice = 'pxe' | 'disk' | 'bios';
export const BOOT_DEVICES: readonly BootDevice[] = ['pxe', 'disk', 'bios'];

export interface BootDeviceRequest {
  device: BootDevice;
  /** Boot in UEFI mode (IPMI `options=efiboot`, Redfish `BootSourceOverrideMode: UEFI`); false means legacy BIOS. */
  uefi: boolean;
}

/** What the BMC says the next boot will be. A null field is one this BMC does not report. */
export interface BootDeviceReading {
  device: BootDevice | 'none' | 'cdrom' | 'other';
  uefi: boolean | null;
  /** false: one-time override; true: persistent. */
  persistent: boolean | null;
  /** IPMI's "boot flags valid" bit; Redfish: whether the override is enabled at all. */
  overrideActive: boolean | null;
  /** The BMC's own words for the device, e.g. "Force PXE" or "Pxe". */
  reported: string;
  /** How the driver read a vendor's way of reporting the override (e.g. Dell's "UefiTarget" after "Pxe"). */
  note?: string;
}

/** One system event log entry, as plain as the BMC gives it. */
export interface SystemEventLogEntry {
  id: string;
  /** ISO 8601 when the BMC gave a parseable time, else the BMC's text, else null. */
  timestamp: string | null;
  sensor: string;
  event: string;
  /** 'asserted' | 'deasserted' for IPMI; Redfish severity (OK, Warning, Critical) otherwise. */
  state: string | null;
}

/**
 * One BMC of one machine, as the inventory gives it. A machine may have several: the ordered list is the chain.
 * `options` are per-BMC strings (snake_case keys), see power/options.ts for the ones rescued reads itself;
 * fence agents receive the others unchanged.
 */
export interface BmcTarget {
  systemName: string;
  /** What the inventory knows of the machine itself: picks it among the systems of a shared BMC. */
  identity?: MachineIdentity;
  /** Power type: ipmi | ipmitool | ipmilanplus | redfish | <fence agent name, with or without "fence_"> */
  type: string;
  address: string;
  port?: number;
  username?: string;
  password?: string;
  options: Record<string, string>;
}

export interface MachineIdentity {
  /** The machine's NIC MAC addresses, lower case, colon separated. */
  macs: string[];
  uuid?: string;
  serial?: string;
}

/** One call to the outside world (a process run, an HTTP request), recorded without secrets. */
export interface BmcCallRecord {
  /** e.g. "ipmitool chassis power status" or "POST /redfish/v1/Systems/1/Actions/ComputerSystem.Reset" */
  description: string;
  /** 1 for the first try of this call, 2 for its first retry, ... */
  try: number;
  /** Total time; for repeated successful reads (`count` > 1), all of them together. */
  elapsedMs: number;
  /** Present when the same successful call ran several times in a row (state polling). */
  count?: number;
  failure?: BmcFailure;
}

/** Handed by the chain to every driver operation: cancellation and a place to record calls. */
export interface OperationContext {
  signal: AbortSignal;
  recordCall(call: BmcCallRecord): void;
}

export interface PowerStateGetter {
  getPowerState(context: OperationContext): Promise<PowerState>;
}

/** What a driver did for one power action; the read-back (power/readback.ts) decides whether it worked. */
export interface PowerCommandReceipt {
  /** The commands the BMC accepted, in the BMC's terms ("chassis power cycle", "ResetType=ForceOff"). */
  commands: string[];
  /** The driver itself saw the machine off during the action (e.g. Redfish ForceOff then On). */
  observedOff: boolean;
}

export interface PowerSetter {
  /**
   * Sends the action; "on" when already on and "off" when already off are not errors. Does not wait for the
   * state: the read-back (power/readback.ts) does.
   */
  setPowerState(action: PowerAction, context: OperationContext): Promise<PowerCommandReceipt>;
}

export interface BootDeviceSetter {
  setBootDevice(request: BootDeviceRequest, context: OperationContext): Promise<void>;
}

export interface BootDeviceGetter {
  getBootDevice(context: OperationContext): Promise<BootDeviceReading>;
}

export interface HealthReader {
  readSystemEventLog(context: OperationContext): Promise<SystemEventLogEntry[]>;
}

/** What a BMC says about itself and what it offers: `rescuectl power probe`. null: not reported. */
export interface BmcProbeReport {
  driver: string;
  endpoint: string;
  vendor: string | null;
  model: string | null;
  firmware: string | null;
  /** Redfish: the service root's RedfishVersion; IPMI: the IPMI version of mc info. */
  protocolVersion: string | null;
  powerState: PowerState | null;
  /** The system chosen on this BMC (Redfish path or IPMI "chassis"), and the others it serves. */
  system: string | null;
  otherSystems: string[];
  /** null: the BMC does not advertise them (the driver then assumes the standard list). */
  resetTypes: string[] | null;
  bootOverride: {
    supported: boolean;
    /** Where the override is written (the system, or its @Redfish.Settings object). */
    writtenTo: string | null;
    modes: string[] | null;
    currentMode: string | null;
    modeWritable: 'yes' | 'no' | 'unknown';
    targets: string[] | null;
    current: string | null;
  };
  /** Where the hardware event log is read from. */
  eventLog: string | null;
  /** Redfish sessions offered and what this probe used ('session', 'basic'); IPMI: the cipher suite. */
  authentication: string | null;
  notes: string[];
}

export interface Prober {
  probe(context: OperationContext): Promise<BmcProbeReport>;
}

/** A driver for one BMC. `open`/`close` bracket one chain operation (e.g. a Redfish session). */
export interface BmcDriver extends Partial<PowerStateGetter & PowerSetter & BootDeviceSetter & BootDeviceGetter & HealthReader & Prober> {
  /** Driver name as recorded: 'ipmitool', 'redfish', 'fence_ipmilan', ... */
  readonly name: string;
  open?(context: OperationContext): Promise<void>;
  close?(context: OperationContext): Promise<void>;
  /** Secrets the driver learned while it ran (e.g. a Redfish session token): scrubbed from what is stored or shown. */
  knownSecrets?(): readonly string[];
}
