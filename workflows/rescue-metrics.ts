// What a rescue tells the worker's metrics: a sink (Temporal's way out of the workflow sandbox), called
// when a step ends and when the rescue ends. Sink calls add nothing to the history, so replay is untouched,
// and the worker skips them while replaying (observability/rescue-sinks.ts): each is counted once per
// execution of the workflow task (again only if that task failed and ran a second time).
import { proxySinks, type Sinks } from '@temporalio/workflow';

export interface RescueMetricsSinks extends Sinks {
  rescueMetrics: {
    /** A step ended after `seconds` of workflow time; `outcome`: done, or interrupted (failure, abort). */
    stepEnded(step: string, outcome: string, seconds: number): void;
    rescueEnded(outcome: string): void;
  };
}

export const { rescueMetrics } = proxySinks<RescueMetricsSinks>();
