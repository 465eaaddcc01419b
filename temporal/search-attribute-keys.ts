// The custom search attributes of a rescue, importable from workflow code (no I/O, no gRPC types).
// Search attributes are indexed in clear by Temporal: the payload codec does not encrypt them (nor the
// workflow ID, `rescue-<system>`). So they hold IDs and step names only: the system's name, the step
// (identifying, diagnosing...) and the outcome word. Never a reason, a label, a finding or an address.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RescueSystem = defineSearchAttributeKey('RescueSystem', SearchAttributeType.KEYWORD);
/** Set only by rescues started before the history was encrypted (a MAC is an address); kept registered so they still run. */
export const RescueMac = defineSearchAttributeKey('RescueMac', SearchAttributeType.KEYWORD);
export const RescueStep = defineSearchAttributeKey('RescueStep', SearchAttributeType.KEYWORD);
export const RescueOutcome = defineSearchAttributeKey('RescueOutcome', SearchAttributeType.KEYWORD);

export const RESCUE_SEARCH_ATTRIBUTES = [RescueSystem, RescueMac, RescueStep, RescueOutcome];
