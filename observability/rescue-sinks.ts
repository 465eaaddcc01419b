// The worker's end of the rescue workflow's metrics sink (workflows/rescue-metrics.ts): every worker that
// hosts the rescue workflow registers these, so rescues by outcome and step durations reach this process's
// registry. Not called during replay: a rescue's history replayed on another worker is not counted again.
import type { InjectedSinks } from '@temporalio/worker';
import type { RescueMetricsSinks } from '../workflows/rescue-metrics.js';
import { observeRescueEnded, observeRescueStep } from './metrics.js';

export function rescueMetricsSinks(): InjectedSinks<RescueMetricsSinks> {
  return {
    rescueMetrics: {
      stepEnded: { fn: (_info, step, outcome, seconds) => observeRescueStep(step, outcome, seconds), callDuringReplay: false },
      rescueEnded: { fn: (_info, outcome) => observeRescueEnded(outcome), callDuringReplay: false },
    },
  };
}
