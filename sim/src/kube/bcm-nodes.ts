import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import type { SimNode } from './nodes.js';

interface Device {
  uuid: string;
  hostname: string;
  childType: string;
  rack?: string;
  interfaces?: { childType?: string; ip?: string }[];
}
interface SysInfo {
  cpu?: { cores?: number };
  memoryMiB?: number;
  gpus?: { name: string; memoryMiB?: number; migMode?: string }[];
}

/**
 * The cluster's nodes as a BCM head node describes them: one Kubernetes node per physical
 * node, with its GPUs (count, product as GPU Feature Discovery writes it, memory, MIG) and its
 * scalable unit and rack as labels. `dir` holds what `sovereign sim bcm` (or a head node) gives
 * a client: admin.pem, admin.key and ca.pem.
 */
export async function nodesFromBcm(url: string, dir: string): Promise<SimNode[]> {
  const [cert, key, ca] = await Promise.all(
    ['admin.pem', 'admin.key', 'ca.pem'].map((file) => readFile(join(dir, file), 'utf8')),
  );
  const call = <T>(service: string, name: string, args: unknown[] = []) =>
    new Promise<T>((resolve, reject) => {
      const req = request(
        new URL('/json', url),
        { method: 'POST', cert, key, ca, headers: { 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            const body = JSON.parse(text) as T & { errormessage?: string };
            if (body && typeof body === 'object' && 'errormessage' in body)
              reject(new Error(`BCM ${service}.${name}: ${body.errormessage}`));
            else resolve(body);
          });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ service, call: name, args }));
    });
  const [devices, racks] = await Promise.all([
    call<Device[]>('cmdevice', 'getNodes'),
    call<{ uuid: string; name: string; row?: string }[]>('cmpart', 'getRacks'),
  ]);
  const rackOf = new Map(racks.map((rack) => [rack.uuid, rack]));
  const physical = devices.filter((device) => device.childType === 'PhysicalNode');
  return Promise.all(
    physical.map(async (device): Promise<SimNode> => {
      const info = await call<SysInfo | null>('cmdevice', 'getSysInfo', [device.uuid]);
      const gpus = info?.gpus ?? [];
      const rack = device.rack ? rackOf.get(device.rack) : undefined;
      const ip = device.interfaces?.find((nic) => nic.childType === 'NetworkPhysicalInterface' && nic.ip)?.ip;
      return {
        name: device.hostname,
        gpus: gpus.length,
        ...(gpus[0]
          ? { gpuProduct: gpus[0].name.replace(/ /g, '-'), gpuMemoryMiB: Math.round(gpus[0].memoryMiB ?? 0) }
          : {}),
        migCapable: gpus.some((gpu) => gpu.migMode !== undefined),
        cpu: String(Math.round(info?.cpu?.cores ?? 0) * 2),
        memory: `${Math.round(info?.memoryMiB ?? 0) * 1024}Ki`,
        labels: {
          ...(rack?.row ? { 'sovereign.io/scalable-unit': rack.row } : {}),
          ...(rack ? { 'topology.kubernetes.io/zone': rack.row ?? rack.name, 'sovereign.io/rack': rack.name } : {}),
        },
        ...(ip ? { internalIp: ip } : {}),
      };
    }),
  );
}
