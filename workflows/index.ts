// The workflows the worker hosts. Deterministic orchestration only: no I/O is imported here.
export { workerProbeWorkflow } from './worker-probe.js';
export { rescueWorkflow } from './rescue.js';
export { reinstallWorkflow } from './reinstall.js';
export { fleetAuditWorkflow } from './audit.js';
