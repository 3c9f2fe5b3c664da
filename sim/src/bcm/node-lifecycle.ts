/**
 * Power and provisioning status. A power call answers at once and the status follows on
 * timers, as BCM's does: DOWN → BOOTING (≈30 s) → INSTALLING (≈5 min; only for installMode
 * FULL, a first install, or a category or software image changed since the last one;
 * never for NOSYNC) → INSTALLER_CALLINGINIT (≈30 s) → UP. `timeScale` shrinks every
 * duration, for tests. CLOSED is an administrator's mark laid over whatever the node reports.
 */
import type { DeviceStore } from './device-store.js';
import type { BcmFaults } from './faults.js';
import type { BcmDevice, DeviceStatus, PowerState } from './types.js';

export interface PhaseDurations {
  /** from the power call until the node starts BOOTING */
  downMs: number;
  bootingMs: number;
  installingMs: number;
  callingInitMs: number;
}

export const REALISTIC_DURATIONS: PhaseDurations = {
  downMs: 5_000,
  bootingMs: 30_000,
  installingMs: 300_000,
  callingInitMs: 30_000,
};

export type PowerOperation = 'powerOn' | 'powerOff' | 'powerCycle' | 'reboot';

export interface PowerAnswer {
  uuid: string;
  hostname: string;
  success: boolean;
  state: PowerState;
  msg: string;
}

export interface StatusAnswer {
  uuid: string;
  hostname: string;
  status: DeviceStatus;
  reportedStatus: DeviceStatus;
  powerStatus: PowerState;
}

interface NodeState {
  phase: DeviceStatus;
  power: 'ON' | 'OFF';
  closed: boolean;
  /** what the last successful install laid down */
  installed?: { category: string; image: string | undefined };
  timer?: NodeJS.Timeout;
}

/** How often a node held in INSTALLING by a fault checks whether it may go on. */
const STUCK_POLL_MS = 50;

export class NodeLifecycle {
  private readonly nodes = new Map<string, NodeState>();
  private readonly durations: PhaseDurations;

  constructor(
    private readonly store: DeviceStore,
    private readonly faults: BcmFaults,
    options: { durations?: Partial<PhaseDurations>; timeScale?: number; nodesStartUp?: boolean } = {},
  ) {
    const scale = options.timeScale ?? 1;
    const durations = { ...REALISTIC_DURATIONS, ...options.durations };
    this.durations = {
      downMs: durations.downMs * scale,
      bootingMs: durations.bootingMs * scale,
      installingMs: durations.installingMs * scale,
      callingInitMs: durations.callingInitMs * scale,
    };
    for (const device of store.list()) {
      const up = options.nodesStartUp !== false || device.childType !== 'PhysicalNode';
      this.nodes.set(device.uuid, {
        phase: up ? 'UP' : 'DOWN',
        power: up ? 'ON' : 'OFF',
        closed: false,
        ...(up ? { installed: this.installTarget(device) } : {}),
      });
    }
  }

  private installTarget(device: BcmDevice): { category: string; image: string | undefined } {
    const image = device.softwareImageProxy?.parentSoftwareImage ?? this.store.categoryImage(device.category);
    return { category: device.category, image };
  }

  private needsInstall(device: BcmDevice, state: NodeState): boolean {
    if (device.installMode === 'NOSYNC') return false;
    if (device.installMode === 'FULL' || !state.installed) return true;
    const target = this.installTarget(device);
    return target.category !== state.installed.category || target.image !== state.installed.image;
  }

  private enter(uuid: string, phase: DeviceStatus, next?: { afterMs: number; then: () => void }): void {
    const state = this.nodes.get(uuid);
    if (!state) return;
    clearTimeout(state.timer);
    state.phase = phase;
    state.timer = next ? setTimeout(next.then, next.afterMs).unref() : undefined;
  }

  private boot(uuid: string): void {
    this.enter(uuid, 'DOWN', { afterMs: this.durations.downMs, then: () => this.booting(uuid) });
  }

  private booting(uuid: string): void {
    this.enter(uuid, 'BOOTING', { afterMs: this.durations.bootingMs, then: () => this.startInstaller(uuid) });
  }

  private startInstaller(uuid: string): void {
    const device = this.store.current(uuid);
    const state = this.nodes.get(uuid);
    if (!device || !state) return;
    if (!this.needsInstall(device, state) && !this.faults.isStuckInstalling(uuid)) return this.callingInit(uuid, true);
    const target = this.installTarget(device);
    this.enter(uuid, 'INSTALLING', { afterMs: this.durations.installingMs, then: () => this.installed(uuid, target) });
  }

  private installed(uuid: string, target: NonNullable<NodeState['installed']>): void {
    const state = this.nodes.get(uuid);
    if (!state) return;
    if (this.faults.isStuckInstalling(uuid)) {
      state.timer = setTimeout(() => this.installed(uuid, target), STUCK_POLL_MS).unref();
      return;
    }
    const failure = this.faults.installFailure(uuid);
    if (failure) return this.enter(uuid, failure);
    state.installed = target;
    this.callingInit(uuid, false);
  }

  /** `mayFail`: no INSTALLING phase ran, so an armed installer failure strikes here instead. */
  private callingInit(uuid: string, mayFail: boolean): void {
    this.enter(uuid, 'INSTALLER_CALLINGINIT', {
      afterMs: this.durations.callingInitMs,
      then: () => {
        const failure = mayFail ? this.faults.installFailure(uuid) : undefined;
        this.enter(uuid, failure ?? 'UP');
      },
    });
  }

  power(key: string, operation: PowerOperation): PowerAnswer {
    const device = this.store.current(key);
    const state = device && this.nodes.get(device.uuid);
    if (!device || !state) return { uuid: key, hostname: '', success: false, state: 'UNKNOWN', msg: 'no such device' };
    const answer = (success: boolean, powerState: PowerState, msg: string): PowerAnswer => ({
      uuid: device.uuid,
      hostname: device.hostname,
      success,
      state: powerState,
      msg,
    });
    if (device.childType === 'HeadNode')
      return answer(false, state.power, `${operation} refused: ${device.hostname} is the head node`);
    if (device.powerControl === 'none')
      return answer(false, 'UNKNOWN', `${operation} failed: ${device.hostname} has powerControl none`);
    if (!this.faults.bmcAnswers(device.uuid))
      return answer(
        false,
        'UNKNOWN',
        `${operation} failed: the BMC of ${device.hostname} does not answer (ipmi timeout)`,
      );
    if (operation === 'powerOff') {
      state.power = 'OFF';
      this.enter(device.uuid, 'DOWN');
      return answer(true, 'OFF', 'powered off');
    }
    if (operation === 'powerOn' && state.power === 'ON') return answer(true, 'ON', 'already on');
    state.power = 'ON';
    this.boot(device.uuid);
    return answer(true, 'ON', operation === 'powerOn' ? 'powered on' : `${operation} started`);
  }

  powerStatus(key: string): { uuid: string; hostname: string; state: PowerState } {
    const device = this.store.current(key);
    return {
      uuid: device?.uuid ?? key,
      hostname: device?.hostname ?? '',
      state: device ? this.powerState(device) : 'UNKNOWN',
    };
  }

  private powerState(device: BcmDevice): PowerState {
    const state = this.nodes.get(device.uuid);
    if (!state || device.powerControl === 'none' || !this.faults.bmcAnswers(device.uuid)) return 'UNKNOWN';
    return state.power;
  }

  status(key: string): StatusAnswer | undefined {
    const device = this.store.current(key);
    const state = device && this.nodes.get(device.uuid);
    if (!device || !state) return undefined;
    return {
      uuid: device.uuid,
      hostname: device.hostname,
      status: state.closed ? 'CLOSED' : state.phase,
      reportedStatus: state.phase,
      powerStatus: this.powerState(device),
    };
  }

  /** CLOSED: taken out of service by an administrator, whatever the node itself reports. */
  setClosed(key: string, closed: boolean): boolean {
    const device = this.store.current(key);
    const state = device && this.nodes.get(device.uuid);
    if (!state) return false;
    state.closed = closed;
    return true;
  }

  stop(): void {
    for (const state of this.nodes.values()) clearTimeout(state.timer);
  }
}
