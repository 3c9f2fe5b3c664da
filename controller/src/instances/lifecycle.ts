import { conflict } from '../http/problem.js';
import type { DesiredState, Phase } from './instance-types.js';

/** Every move the lifecycle allows; anything else is a bug the store refuses to record. */
const MOVES: Readonly<Record<Phase, readonly Phase[]>> = {
  Pending: ['Provisioning', 'Deleting', 'Failed'],
  Provisioning: ['Ready', 'Deleting', 'Failed'],
  Ready: ['Stopping', 'Deleting', 'Failed'],
  Stopping: ['Stopped', 'Starting', 'Deleting', 'Failed'],
  Stopped: ['Starting', 'Deleting'],
  Starting: ['Ready', 'Stopping', 'Deleting', 'Failed'],
  Deleting: ['Deleted'],
  Deleted: [],
  Failed: ['Deleting'],
};

export const canMove = (from: Phase, to: Phase): boolean => MOVES[from].includes(to);

/** The user's operations, as changes of the desired state. */
export type Operation = 'stop' | 'start' | 'delete';

/**
 * The desired state an operation asks for, or a 409 that says why not. Asking again for
 * what is already desired is accepted (a retried request changes nothing).
 */
export function desiredAfter(op: Operation, current: { phase: Phase; desired: DesiredState }): DesiredState {
  const { phase, desired } = current;
  if (op === 'delete') return 'deleted';
  if (desired === 'deleted') throw conflict(`The instance is being deleted (it is ${phase}).`);
  if (phase === 'Failed') throw conflict(`A Failed instance cannot be ${op}ped: delete it and launch another.`);
  if (op === 'stop') {
    if (desired === 'stopped') return 'stopped';
    if (phase !== 'Ready' && phase !== 'Starting')
      throw conflict(`Only a Ready instance can be stopped; this one is ${phase}.`);
    return 'stopped';
  }
  return 'running';
}
