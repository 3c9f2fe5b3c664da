/** A set of interchangeable things in one place (a unit's free nodes, a rack's, a node's free GPUs). */
export interface Group {
  readonly key: string;
  /** how many it has free */
  readonly count: number;
  /** nothing in it is given out yet */
  readonly whole: boolean;
}

export interface Take<G extends Group> {
  group: G;
  take: number;
}

/**
 * How to pack when n needs several groups. 'whole': the largest groups, whole ones first (a
 * bare-metal job spanning units wants whole units, the fewest pieces). 'used': as many
 * groups already in use as the fewest groups allow (a vcluster's GPUs fill used nodes and
 * leave untouched ones free for bare metal).
 */
export type Prefer = 'whole' | 'used';

export const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Best fit: the group with the fewest free that still holds n; on a tie a used group before
 * a whole one, then by key. With 'used', any used group that holds n comes before every whole one.
 */
export function bestFit<G extends Group>(groups: Iterable<G>, n: number, prefer: Prefer = 'whole'): G | undefined {
  let best: G | undefined;
  for (const g of groups) {
    if (g.count < n) continue;
    if (best === undefined) best = g;
    else if (prefer === 'used' && g.whole !== best.whole) {
      if (!g.whole) best = g;
    } else if (
      g.count < best.count ||
      (g.count === best.count && (g.whole !== best.whole ? !g.whole : compareStrings(g.key, best.key) < 0))
    )
      best = g;
  }
  return best;
}

const sum = (groups: readonly Group[]) => groups.reduce((n, g) => n + g.count, 0);

/**
 * n things from as few groups as possible. One group by best fit when one holds n. Otherwise
 * k, the fewest groups that can: k − 1 of them taken whole (largest first, by `prefer`) and
 * the rest from the best-fitting group left. Undefined when all together hold fewer than n.
 */
export function packGroups<G extends Group>(groups: readonly G[], n: number, prefer: Prefer): Take<G>[] | undefined {
  const single = bestFit(groups, n, prefer);
  if (single !== undefined) return [{ group: single, take: n }];
  const wholeFirst = prefer === 'whole';
  const order = [...groups].sort(
    (a, b) =>
      b.count - a.count || (a.whole !== b.whole ? (a.whole === wholeFirst ? -1 : 1) : compareStrings(a.key, b.key)),
  );
  let k = 0;
  let held = 0;
  while (k < order.length && held < n) held += order[k++]!.count;
  if (held < n) return undefined;

  let chosen = order.slice(0, k);
  if (!wholeFirst) {
    // As many used groups as k groups allow: the j largest used ones and the k − j largest whole ones.
    const used = order.filter((g) => !g.whole);
    const whole = order.filter((g) => g.whole);
    for (let j = Math.min(k, used.length); j >= 0 && k - j <= whole.length; j--) {
      const candidate = [...used.slice(0, j), ...whole.slice(0, k - j)];
      if (sum(candidate) >= n) {
        chosen = candidate.sort(
          (a, b) => b.count - a.count || (a.whole !== b.whole ? (a.whole ? 1 : -1) : compareStrings(a.key, b.key)),
        );
        break;
      }
    }
  }
  const takes: Take<G>[] = [];
  let rest = n;
  for (const group of chosen.slice(0, k - 1)) {
    takes.push({ group, take: group.count });
    rest -= group.count;
  }
  const full = new Set(takes.map((t) => t.group));
  const last = bestFit(
    order.filter((g) => !full.has(g)),
    rest,
    prefer,
  )!;
  takes.push({ group: last, take: rest });
  return takes;
}
