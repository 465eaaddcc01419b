import type { RESCUE_POLICIES } from './schemas.js';

export type RescuePolicy = (typeof RESCUE_POLICIES)[number];

/** Without a policy on the system or its profiles, a rescue may repair but never reinstall on its own. */
export const DEFAULT_RESCUE_POLICY: RescuePolicy = 'repair';
