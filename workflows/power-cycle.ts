// A power cycle as the workflows send it: off, then on. Each is a no-op when the machine is already there (the
// power layer reads the state first, power/readback.ts), so a retry after a worker died mid-call never cycles
// the machine a second time: the BMC sees exactly the operations the workflow meant. One `cycle` call could not
// promise that: its retry cycled again. Histories from before this change sent one cycle, hence the patch marker.
import { patched } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';

type PowerCall = Awaited<ReturnType<Activities['setPowerState']>>;

/**
 * The calls made, in order (one `cycle` in old histories; `off` then `on` now). `rescueWorkflowId`: the rescue
 * the cycle is part of, when the calling workflow is not that rescue (a reinstall, its child).
 */
export async function powerCycle(power: Pick<Activities, 'setPowerState'>, system: string, rescueWorkflowId?: string): Promise<PowerCall[]> {
  const call = (action: 'cycle' | 'off' | 'on') => power.setPowerState({ system, action, ...(rescueWorkflowId === undefined ? {} : { rescueWorkflowId }) });
  if (!patched('power-cycle-as-off-then-on')) return [await call('cycle')];
  const off = await call('off');
  const on = await call('on');
  return [off, on];
}
