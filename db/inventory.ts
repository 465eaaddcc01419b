// The inventory as one object: every repository over one database handle.
import type { Database, LockedTransaction } from './client.js';
import type { SecretCipher } from '../secrets/cipher.js';
import { createDistroRepository, createRepoRepository, createRescueEnvironmentRepository, createTemplateRepository } from './repositories/flat-objects.js';
import { createProfileRepository } from './repositories/profiles.js';
import { createSystemRepository } from './repositories/systems.js';
import { createTokenRepository } from './repositories/tokens.js';
import { createInstallHistoryRepository } from './repositories/install-history.js';
import { createInstallTokenRepository } from './repositories/install-tokens.js';
import { listEvents, pruneEvents, recordEvent, type EventRecord } from './repositories/events.js';
import { createBootRepository } from './repositories/boot.js';
import { createRescueRepository } from './repositories/rescues.js';
import { createAuditRepository } from './repositories/audits.js';
import { createAlertRepository } from './repositories/alerts.js';
import { createGuardRepository } from './repositories/guard.js';

/** `admissions`: the guard's locked transactions on its own connection where it has one (DatabaseHandle.admissions). */
export function createInventory(db: Database, cipher: SecretCipher, options: { admissions?: LockedTransaction } = {}) {
  return {
    distros: createDistroRepository(db),
    repos: createRepoRepository(db),
    rescueEnvironments: createRescueEnvironmentRepository(db),
    templates: createTemplateRepository(db),
    profiles: createProfileRepository(db),
    systems: createSystemRepository(db, cipher),
    tokens: createTokenRepository(db, cipher),
    installHistory: createInstallHistoryRepository(db),
    installTokens: createInstallTokenRepository(db, cipher),
    boot: createBootRepository(db, cipher),
    rescues: createRescueRepository(db, cipher),
    audits: createAuditRepository(db),
    alerts: createAlertRepository(db),
    guard: createGuardRepository(db, options.admissions),
    events: {
      page: (filter: Parameters<typeof listEvents>[1]) => listEvents(db, filter),
      record: (event: EventRecord) => recordEvent(db, event),
      prune: (before: Date) => pruneEvents(db, before),
    },
  };
}

export type Inventory = ReturnType<typeof createInventory>;
