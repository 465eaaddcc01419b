// The custom search attributes of a rescue, importable from workflow code (no I/O, no gRPC types).
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const RescueSystem = defineSearchAttributeKey('RescueSystem', SearchAttributeType.KEYWORD);
export const RescueMac = defineSearchAttributeKey('RescueMac', SearchAttributeType.KEYWORD);
export const RescueStep = defineSearchAttributeKey('RescueStep', SearchAttributeType.KEYWORD);
export const RescueOutcome = defineSearchAttributeKey('RescueOutcome', SearchAttributeType.KEYWORD);

export const RESCUE_SEARCH_ATTRIBUTES = [RescueSystem, RescueMac, RescueStep, RescueOutcome];
