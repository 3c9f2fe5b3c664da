import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  emptyRoot,
  InclusionVerifier,
  inclusionProof,
  MerkleFrontier,
  MerkleTree,
  rootFromInclusionProof,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const sha256 = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return h.digest();
};
const leafHashOf = (data: Buffer) => sha256(Buffer.of(0), data);
const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

/** The RFC 6962 definition, written out literally: the oracle for everything below. */
function naiveRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.of(1), naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

function naivePath(m: number, leaves: Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k
    ? [...naivePath(m, leaves.slice(0, k)), naiveRoot(leaves.slice(k))]
    : [...naivePath(m - k, leaves.slice(k)), naiveRoot(leaves.slice(0, k))];
}

function naiveSubproof(m: number, leaves: Buffer[], whole: boolean): Buffer[] {
  if (m === leaves.length) return whole ? [] : [naiveRoot(leaves)];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m <= k
    ? [...naiveSubproof(m, leaves.slice(0, k), whole), naiveRoot(leaves.slice(k))]
    : [...naiveSubproof(m - k, leaves.slice(k), false), naiveRoot(leaves.slice(0, k))];
}

// certificate-transparency / transparency-dev reference data: 8 leaves, the roots of every prefix.
const CT_LEAF_DATA = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const CT_LEAVES = CT_LEAF_DATA.map((d) => leafHashOf(unhex(d)));
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION = [
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];
const CT_CONSISTENCY = [
  {
    size1: 2,
    size2: 8,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const N = 64;
const LEAVES = Array.from({ length: N }, (_, i) => leafHashOf(Buffer.from(`leaf ${i}`)));
const CONCAT = Buffer.concat(LEAVES);
const ROOTS = Array.from({ length: N + 1 }, (_, n) => naiveRoot(LEAVES.slice(0, n)));

function flipBit(proof: Buffer[], element: number, bit: number): Buffer[] {
  const copy = proof.map((h) => Buffer.from(h));
  const target = copy[element] as Buffer;
  target[bit >> 3] = (target[bit >> 3] as number) ^ (1 << (bit & 7));
  return copy;
}

describe('RFC 6962 reference vectors', () => {
  const ct = Buffer.concat(CT_LEAVES);

  it('roots of every prefix, by tree and by frontier', () => {
    const frontier = new MerkleFrontier();
    expect(hex(frontier.root())).toBe(CT_ROOTS[0]);
    expect(hex(emptyRoot())).toBe(CT_ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      frontier.append(CT_LEAVES[n - 1] as Buffer);
      expect(hex(frontier.root()), `size ${n}`).toBe(CT_ROOTS[n]);
      expect(hex(rootOf(ct, n)), `size ${n}`).toBe(CT_ROOTS[n]);
    }
    expect(hex(rootOf(ct, 0))).toBe(CT_ROOTS[0]);
  });

  it('inclusion proofs', () => {
    for (const v of CT_INCLUSION) {
      expect(inclusionProof(ct, v.index, v.size).map(hex)).toEqual(v.proof);
      const root = unhex(CT_ROOTS[v.size] as string);
      expect(verifyInclusion(CT_LEAVES[v.index] as Buffer, v.index, v.size, v.proof.map(unhex), root)).toBe(true);
    }
  });

  it('consistency proofs', () => {
    for (const v of CT_CONSISTENCY) {
      expect(consistencyProof(ct, v.size1, v.size2).map(hex)).toEqual(v.proof);
      const [root1, root2] = [CT_ROOTS[v.size1], CT_ROOTS[v.size2]].map((r) => unhex(r as string)) as [Buffer, Buffer];
      expect(verifyConsistency(v.size1, v.size2, root1, root2, v.proof.map(unhex))).toBe(true);
    }
  });
});

describe('MerkleFrontier', () => {
  it('has the naive root after every append, and restores from its saved state', () => {
    const frontier = new MerkleFrontier();
    for (let n = 1; n <= N; n++) {
      frontier.append(LEAVES[n - 1] as Buffer);
      expect(frontier.size).toBe(n);
      expect(frontier.root().equals(ROOTS[n] as Buffer), `size ${n}`).toBe(true);
      const restored = new MerkleFrontier(frontier.size, frontier.hashes());
      expect(restored.root().equals(frontier.root())).toBe(true);
    }
  });

  it('refuses a leaf that is not 32 bytes and a state that does not fit its size', () => {
    expect(() => new MerkleFrontier().append(Buffer.alloc(31))).toThrow(/32 bytes/);
    expect(() => new MerkleFrontier(3, [Buffer.alloc(32)])).toThrow(/size 3 holds 2 hashes/);
    expect(() => new MerkleFrontier(-1)).toThrow(RangeError);
  });
});

describe('proofs against the naive RFC 9162 algorithms, sizes 1..64', () => {
  it('every inclusion proof equals the naive PATH and verifies', () => {
    for (let size = 1; size <= N; size++) {
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(CONCAT, index, size);
        expect(proof.map(hex), `${index}/${size}`).toEqual(naivePath(index, LEAVES.slice(0, size)).map(hex));
        expect(verifyInclusion(LEAVES[index] as Buffer, index, size, proof, ROOTS[size] as Buffer)).toBe(true);
      }
    }
  });

  it('every consistency proof equals the naive PROOF and verifies', () => {
    for (let size2 = 0; size2 <= N; size2++) {
      for (let size1 = 0; size1 <= size2; size1++) {
        const proof = consistencyProof(CONCAT, size1, size2);
        const naive = size1 === 0 || size1 === size2 ? [] : naiveSubproof(size1, LEAVES.slice(0, size2), true);
        expect(proof.map(hex), `${size1}->${size2}`).toEqual(naive.map(hex));
        const [root1, root2] = [ROOTS[size1] as Buffer, ROOTS[size2] as Buffer];
        expect(verifyConsistency(size1, size2, root1, root2, proof), `${size1}->${size2}`).toBe(true);
      }
    }
  });
});

describe('tampered inclusion proofs fail', () => {
  it('every flipped bit, a missing or extra hash, leading garbage, another index or size', () => {
    for (let size = 1; size <= 33; size++) {
      const root = ROOTS[size] as Buffer;
      for (let index = 0; index < size; index++) {
        const leaf = LEAVES[index] as Buffer;
        const proof = inclusionProof(CONCAT, index, size);
        const verifies = (p: Buffer[], i = index, s = size, r = root, l = leaf) => verifyInclusion(l, i, s, p, r);
        for (let e = 0; e < proof.length; e++) {
          for (const bit of [0, 77, 255])
            expect(verifies(flipBit(proof, e, bit)), `${index}/${size} #${e}`).toBe(false);
        }
        if (proof.length > 0) expect(verifies(proof.slice(0, -1))).toBe(false);
        expect(verifies([...proof, Buffer.alloc(32, 0xab)])).toBe(false);
        expect(verifies([Buffer.alloc(32), ...proof])).toBe(false);
        expect(verifies(proof, index, size, flipBit([root], 0, 9)[0])).toBe(false);
        expect(verifies(proof, index, size, root, flipBit([leaf], 0, 1)[0])).toBe(false);
        if (size > 1) expect(verifies(proof, (index + 1) % size)).toBe(false);
        // (A proof for one size can fit the shape of the next; what it cannot do is reach that tree's root.)
        expect(verifies(proof, index, size + 1, ROOTS[size + 1])).toBe(false);
      }
    }
  });

  it('index ≥ size, negative or fractional numbers and short hashes are not proofs', () => {
    const root = ROOTS[8] as Buffer;
    const proof = inclusionProof(CONCAT, 5, 8);
    const leaf = LEAVES[5] as Buffer;
    expect(verifyInclusion(leaf, 8, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, -1, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, 5.5, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, 0, 0, [], emptyRoot())).toBe(false);
    expect(verifyInclusion(leaf.subarray(0, 31), 5, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, 5, 8, [proof[0]?.subarray(1) as Buffer, ...proof.slice(1)], root)).toBe(false);
    expect(verifyInclusion(leaf, 5, 8, proof, root.subarray(0, 31))).toBe(false);
    expect(rootFromInclusionProof(leaf, 5, 8, proof)?.equals(root)).toBe(true);
  });
});

describe('InclusionVerifier', () => {
  it('agrees with verifyInclusion over ascending runs of leaves, genuine and tampered', () => {
    for (let size = 1; size <= 40; size++) {
      const root = ROOTS[size] as Buffer;
      for (const stride of [1, 2, 3, 7]) {
        const batch = new InclusionVerifier(size, root);
        for (let index = 0; index < size; index += stride) {
          const proof = inclusionProof(CONCAT, index, size);
          const leaf = LEAVES[index] as Buffer;
          // A tampered proof first (it must fail and leave no trace), then the genuine one.
          for (let e = 0; e < proof.length; e++) {
            expect(batch.verify(leaf, index, flipBit(proof, e, 5)), `${index}/${size} #${e}`).toBe(false);
          }
          expect(batch.verify(leaf, index, [...proof, Buffer.alloc(32)])).toBe(false);
          expect(batch.verify(flipBit([leaf], 0, 0)[0] as Buffer, index, proof)).toBe(false);
          expect(batch.verify(leaf, index, proof), `${index}/${size}`).toBe(true);
        }
      }
    }
  });

  it('refuses a leaf that is not in the tree even when its path meets a verified one', () => {
    const batch = new InclusionVerifier(16, ROOTS[16] as Buffer);
    expect(batch.verify(LEAVES[4] as Buffer, 4, inclusionProof(CONCAT, 4, 16))).toBe(true);
    const forged = leafHashOf(Buffer.from('forged'));
    // The genuine sibling path of leaf 5 with a forged leaf: the shared node differs.
    expect(batch.verify(forged, 5, inclusionProof(CONCAT, 5, 16))).toBe(false);
    expect(batch.verify(LEAVES[5] as Buffer, 5, inclusionProof(CONCAT, 5, 16))).toBe(true);
    expect(batch.verify(LEAVES[5] as Buffer, 16, inclusionProof(CONCAT, 5, 16))).toBe(false);
  });
});

describe('tampered consistency proofs fail', () => {
  it('every flipped bit, a missing or extra hash, leading garbage, other sizes or roots', () => {
    for (let size2 = 2; size2 <= 33; size2++) {
      for (let size1 = 1; size1 < size2; size1++) {
        const [root1, root2] = [ROOTS[size1] as Buffer, ROOTS[size2] as Buffer];
        const proof = consistencyProof(CONCAT, size1, size2);
        const ok = (p: Buffer[], s1 = size1, s2 = size2, r1 = root1, r2 = root2) =>
          verifyConsistency(s1, s2, r1, r2, p);
        const where = `${size1}->${size2}`;
        for (let e = 0; e < proof.length; e++) {
          for (const bit of [0, 100, 255]) expect(ok(flipBit(proof, e, bit)), `${where} #${e}`).toBe(false);
        }
        expect(ok(proof.slice(0, -1)), where).toBe(false);
        expect(ok([...proof, Buffer.alloc(32, 0xcd)]), where).toBe(false);
        expect(ok([Buffer.alloc(32), ...proof]), where).toBe(false);
        expect(ok([]), where).toBe(false);
        expect(ok(proof, size1, size2, flipBit([root1], 0, 3)[0]), where).toBe(false);
        expect(ok(proof, size1, size2, root1, flipBit([root2], 0, 3)[0]), where).toBe(false);
        expect(ok(proof, size2, size1, root2, root1), where).toBe(false);
      }
    }
  });

  it('follows transparency-dev on the degenerate cases', () => {
    const [r4, r5, r8] = [ROOTS[4], ROOTS[5], ROOTS[8]] as [Buffer, Buffer, Buffer];
    expect(verifyConsistency(4, 4, r4, r4, [])).toBe(true);
    expect(verifyConsistency(4, 4, r4, r5, [])).toBe(false);
    expect(verifyConsistency(4, 4, r4, r4, [Buffer.alloc(32)])).toBe(false);
    expect(verifyConsistency(0, 8, emptyRoot(), r8, [])).toBe(true);
    // size1 = 0 with content is refused, as in verify.go
    expect(verifyConsistency(0, 8, emptyRoot(), r8, [r8])).toBe(false);
    expect(verifyConsistency(0, 0, emptyRoot(), emptyRoot(), [])).toBe(true);
    expect(verifyConsistency(-1, 8, r4, r8, [])).toBe(false);
  });
});

describe('verification beyond 2^32 leaves', () => {
  // In a tree whose leaves are all the same, a subtree's root depends only on its size, so
  // proofs for trees of any size can be written out with the RFC's recursion by size alone.
  const leaf = leafHashOf(Buffer.from('same'));
  const roots = new Map<number, Buffer>();
  const mth = (n: number): Buffer => {
    if (n === 1) return leaf;
    let root = roots.get(n);
    if (!root) {
      let k = 1;
      while (k * 2 < n) k *= 2;
      root = sha256(Buffer.of(1), mth(k), mth(n - k));
      roots.set(n, root);
    }
    return root;
  };
  const split = (n: number) => {
    let k = 1;
    while (k * 2 < n) k *= 2;
    return k;
  };
  const path = (m: number, n: number): Buffer[] => {
    if (n <= 1) return [];
    const k = split(n);
    return m < k ? [...path(m, k), mth(n - k)] : [...path(m - k, n - k), mth(k)];
  };
  const subproof = (m: number, n: number, whole: boolean): Buffer[] => {
    if (m === n) return whole ? [] : [mth(n)];
    const k = split(n);
    return m <= k ? [...subproof(m, k, whole), mth(n - k)] : [...subproof(m - k, n - k, false), mth(k)];
  };

  it('inclusion and consistency proofs verify for sizes near 2^40 and 2^53', () => {
    for (const [index, size] of [
      [2 ** 32 + 7, 2 ** 33 + 5],
      [2 ** 40 - 1, 2 ** 40 + 3],
      [0, 2 ** 40 + 3],
      [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const proof = path(index, size);
      expect(verifyInclusion(leaf, index, size, proof, mth(size)), `${index}/${size}`).toBe(true);
      expect(verifyInclusion(leaf, index, size, proof.slice(1), mth(size))).toBe(false);
      expect(verifyInclusion(leaf, index + 1, size + 1, proof, mth(size + 1))).toBe(false);
    }
    for (const [size1, size2] of [
      [2 ** 32 + 3, 2 ** 33 + 1],
      [2 ** 40, 2 ** 40 + 3],
      [3, 2 ** 45 + 9],
    ] as const) {
      const proof = subproof(size1, size2, true);
      expect(verifyConsistency(size1, size2, mth(size1), mth(size2), proof), `${size1}->${size2}`).toBe(true);
      expect(verifyConsistency(size1 + 1, size2, mth(size1 + 1), mth(size2), proof)).toBe(false);
    }
  });
});

describe('MerkleTree', () => {
  it('refuses sizes beyond the leaves it holds and proofs for leaves outside the tree', () => {
    const tree = new MerkleTree(CONCAT);
    expect(tree.size).toBe(N);
    expect(() => tree.root(N + 1)).toThrow(/beyond the 64 leaves/);
    expect(() => tree.inclusionProof(8, 8)).toThrow(/not in a tree of size 8/);
    expect(() => tree.consistencyProof(9, 8)).toThrow(/beyond the second/);
    expect(() => new MerkleTree(Buffer.alloc(40), 2)).toThrow(/cannot hold 2 leaves/);
    expect(tree.leaf(3).equals(LEAVES[3] as Buffer)).toBe(true);
  });

  it('answers many proofs over 2^17 + 3 leaves without rehashing the tree for each', () => {
    const size = 2 ** 17 + 3;
    const leaves = Buffer.alloc(size * 32);
    for (let i = 0; i < size; i++) leaves.writeUInt32BE(i, i * 32);
    const started = performance.now();
    const tree = new MerkleTree(leaves);
    const frontier = new MerkleFrontier();
    for (let i = 0; i < size; i++) frontier.append(leaves.subarray(i * 32, i * 32 + 32));
    expect(tree.root().equals(frontier.root())).toBe(true);
    const root = tree.root();
    for (let i = 0; i < 2000; i++) {
      const index = (i * 7919) % size;
      const proof = tree.inclusionProof(index);
      expect(verifyInclusion(tree.leaf(index), index, size, proof, root)).toBe(true);
      const size1 = 1 + ((i * 104729) % (size - 1));
      expect(verifyConsistency(size1, size, tree.root(size1), root, tree.consistencyProof(size1))).toBe(true);
    }
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});
