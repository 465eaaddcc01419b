// BMC power management: what the activities import.
export type {
  BmcCallRecord,
  BmcDriver,
  BmcProbeReport,
  BmcTarget,
  BootDevice,
  BootDeviceGetter,
  BootDeviceReading,
  BootDeviceRequest,
  BootDeviceSetter,
  HealthReader,
  MachineIdentity,
  OperationContext,
  PowerAction,
  PowerCommandReceipt,
  PowerSetter,
  PowerState,
  PowerStateGetter,
  SystemEventLogEntry,
} from './types.js';
export { BOOT_DEVICES, POWER_ACTIONS } from './types.js';
export { BMC_ERROR_KINDS, BmcError, isBmcError, isRetryable, type BmcErrorKind, type BmcFailure } from './errors.js';
export { COMMON_OPTION_KEYS } from './options.js';
export { BMC_CONCURRENCY_ENV, DEFAULT_BMC_CONCURRENCY, KeyedSemaphore, processBmcLimiter } from './bmc-limit.js';
export {
  PowerClient,
  type BmcProbeOutcome,
  type DriverAttemptRecord,
  type PowerChainRecord,
  type PowerChainResult,
  type PowerClientOptions,
  type PowerOperation,
} from './chain.js';
export type { BootDeviceConfirmation, PowerTransition } from './readback.js';
export { createDefaultRegistry, DriverRegistry, findExecutableOnPath, type DriverFactory } from './registry.js';
export { IPMITOOL_DRIVER } from './drivers/ipmitool.js';
export { REDFISH_DRIVER } from './drivers/redfish.js';
