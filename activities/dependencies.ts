import type { Inventory } from '../db/inventory.js';
import type { SystemPower } from '../power/system-power.js';
import type { NetbootService } from '../boot/netboot.js';
import type { RescueShell } from './rescue-shell.js';
import type { RescueAdmission } from '../triggers/admission.js';

/** What activities are given by the worker that hosts them: the domain modules, never a Temporal client. */
export interface ActivityDependencies {
  inventory: Inventory;
  databaseKind: 'postgres' | 'pglite';
  systemPower: SystemPower;
  netboot: NetbootService;
  rescueShell: RescueShell;
  /** The guard every automatic rescue start goes through (the fleet audit's broken machines). */
  admission: RescueAdmission;
}
