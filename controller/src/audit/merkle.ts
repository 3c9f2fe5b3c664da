import { hash } from 'node:crypto';

/**
 * The RFC 6962 / RFC 9162 Merkle tree over the audit log. Leaves are the records' leaf
 * hashes (already SHA-256(0x00 ‖ data)); an interior node is SHA-256(0x01 ‖ left ‖ right);
 * the empty tree's root is SHA-256 of nothing. Proof checks follow transparency-dev/merkle
 * proof/verify.go, so proofs made by other RFC 6962 tools verify here and vice versa.
 */

export const HASH_BYTES = 32;

const EMPTY_ROOT = hash('sha256', Buffer.alloc(0), 'buffer');
/** One scratch buffer for 0x01 ‖ left ‖ right: hashing a million nodes allocates nothing else. */
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_BYTES, 1);

export function emptyRoot(): Buffer {
  return Buffer.from(EMPTY_ROOT);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 1 + HASH_BYTES);
  return hash('sha256', NODE_INPUT, 'buffer');
}

/** Ragged subtree roots kept per tree: a few per tree size asked about, so this bound is generous. */
const MAX_RAGGED_ROOTS = 1 << 16;

/** The largest power of two strictly below n (n ≥ 2): where RFC 6962 splits a tree of n leaves. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function assertSize(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${what} ${value}: want a whole number ≥ 0`);
}

/**
 * A compact range: the roots of the perfect subtrees that make up a tree of `size` leaves,
 * largest first (one per set bit of size). Appending is amortised one hash, the root is
 * O(log n) hashes, and the state is small enough to keep beside the log.
 */
export class MerkleFrontier {
  private readonly stack: Buffer[];
  private count: number;

  /** An empty tree, or the state saved from `size` and `hashes()` of another frontier. */
  constructor(size = 0, hashes: readonly Buffer[] = []) {
    assertSize('frontier size', size);
    if (hashes.length !== popCount(size) || hashes.some((h) => h.length !== HASH_BYTES))
      throw new RangeError(`a frontier of size ${size} holds ${popCount(size)} hashes of ${HASH_BYTES} bytes`);
    this.count = size;
    this.stack = hashes.map((h) => Buffer.from(h));
  }

  get size(): number {
    return this.count;
  }

  /** The subtree roots, largest subtree first; with `size` they restore the frontier. */
  hashes(): Buffer[] {
    return this.stack.map((h) => Buffer.from(h));
  }

  append(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_BYTES)
      throw new RangeError(`a leaf hash is ${HASH_BYTES} bytes, not ${leafHash.length}`);
    let node: Buffer = Buffer.from(leafHash);
    // Each trailing 1 bit of the old size is a perfect subtree of the same height as the new one: merge.
    for (let s = this.count; s % 2 === 1; s = (s - 1) / 2) node = hashChildren(this.stack.pop() as Buffer, node);
    this.stack.push(node);
    this.count += 1;
  }

  root(): Buffer {
    const top = this.stack.length - 1;
    if (top < 0) return emptyRoot();
    let node = this.stack[top] as Buffer;
    for (let i = top - 1; i >= 0; i--) node = hashChildren(this.stack[i] as Buffer, node);
    return Buffer.from(node);
  }
}

function popCount(n: number): number {
  let bits = 0;
  for (let s = n; s > 0; s = Math.floor(s / 2)) bits += s % 2;
  return bits;
}

/**
 * The whole tree over a buffer of concatenated leaf hashes, with every perfect, aligned
 * subtree root computed once (about n hashes, 32 bytes of memory per leaf). Any root,
 * inclusion proof or consistency proof for a tree size up to n then costs O(log n) hashes.
 * The leaf buffer must not change while the tree is in use.
 */
export class MerkleTree {
  /** levels[h] holds the roots of the aligned perfect subtrees of 2^h leaves; levels[0] is the leaves. */
  private readonly levels: Buffer[];
  private readonly ragged = new Map<string, Buffer>();
  readonly size: number;

  constructor(leafHashes: Buffer, size = Math.floor(leafHashes.length / HASH_BYTES)) {
    assertSize('tree size', size);
    if (leafHashes.length < size * HASH_BYTES)
      throw new RangeError(`${leafHashes.length} bytes of leaf hashes cannot hold ${size} leaves`);
    this.size = size;
    this.levels = [leafHashes.subarray(0, size * HASH_BYTES)];
    for (let width = Math.floor(size / 2); width > 0; width = Math.floor(width / 2)) {
      const below = this.levels[this.levels.length - 1] as Buffer;
      const level = Buffer.allocUnsafe(width * HASH_BYTES);
      for (let i = 0; i < width; i++) {
        const at = 2 * i * HASH_BYTES;
        hashChildren(below.subarray(at, at + HASH_BYTES), below.subarray(at + HASH_BYTES, at + 2 * HASH_BYTES)).copy(
          level,
          i * HASH_BYTES,
        );
      }
      this.levels.push(level);
    }
  }

  /**
   * MTH(D[start:end]): a lookup when the range is an aligned perfect subtree, else split as
   * RFC 6962 does. The ragged ranges along a tree's right border recur in every proof for
   * that size, so they are kept. A Buffer holds fewer than 2^27 leaf hashes, so 32-bit
   * arithmetic is exact here.
   */
  private subtreeRoot(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return emptyRoot();
    if ((n & (n - 1)) === 0 && start % n === 0) {
      const level = this.levels[31 - Math.clz32(n)] as Buffer;
      const at = (start / n) * HASH_BYTES;
      return level.subarray(at, at + HASH_BYTES);
    }
    const key = `${start}:${end}`;
    let root = this.ragged.get(key);
    if (!root) {
      const k = splitPoint(n);
      root = hashChildren(this.subtreeRoot(start, start + k), this.subtreeRoot(start + k, end));
      if (this.ragged.size < MAX_RAGGED_ROOTS) this.ragged.set(key, root);
    }
    return root;
  }

  private checkSize(size: number): void {
    assertSize('tree size', size);
    if (size > this.size) throw new RangeError(`tree size ${size} is beyond the ${this.size} leaves held`);
  }

  root(size = this.size): Buffer {
    this.checkSize(size);
    return Buffer.from(this.subtreeRoot(0, size));
  }

  leaf(index: number): Buffer {
    this.checkSize(index + 1);
    return Buffer.from(this.subtreeRoot(index, index + 1));
  }

  /** RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf end first. */
  inclusionProof(index: number, size = this.size): Buffer[] {
    this.checkSize(size);
    assertSize('leaf index', index);
    if (index >= size) throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
    const proof: Buffer[] = [];
    this.path(index, 0, size, proof);
    return proof.map((h) => Buffer.from(h));
  }

  private path(m: number, start: number, end: number, proof: Buffer[]): void {
    const n = end - start;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      this.path(m, start, start + k, proof);
      proof.push(this.subtreeRoot(start + k, end));
    } else {
      this.path(m - k, start + k, end, proof);
      proof.push(this.subtreeRoot(start, start + k));
    }
  }

  /** RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when size1 is 0 or equals size2. */
  consistencyProof(size1: number, size2 = this.size): Buffer[] {
    this.checkSize(size2);
    assertSize('first tree size', size1);
    if (size1 > size2) throw new RangeError(`first tree size ${size1} is beyond the second, ${size2}`);
    const proof: Buffer[] = [];
    if (size1 > 0 && size1 < size2) this.subproof(size1, 0, size2, true, proof);
    return proof.map((h) => Buffer.from(h));
  }

  private subproof(m: number, start: number, end: number, whole: boolean, proof: Buffer[]): void {
    const n = end - start;
    if (m === n) {
      if (!whole) proof.push(this.subtreeRoot(start, end));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      this.subproof(m, start, start + k, whole, proof);
      proof.push(this.subtreeRoot(start + k, end));
    } else {
      this.subproof(m - k, start + k, end, false, proof);
      proof.push(this.subtreeRoot(start, start + k));
    }
  }
}

/**
 * Trees built by the functions below, by leaf buffer, so that a caller asking for many
 * proofs over the same buffer hashes the log once. The buffer must not change afterwards.
 */
const trees = new WeakMap<Buffer, MerkleTree>();

function treeOf(leafHashes: Buffer, size: number): MerkleTree {
  const cached = trees.get(leafHashes);
  if (cached && cached.size >= size) return cached;
  const tree = new MerkleTree(leafHashes);
  trees.set(leafHashes, tree);
  return tree;
}

/** MTH of the first `size` leaves of a buffer of concatenated 32-byte leaf hashes. */
export function rootOf(leafHashes: Buffer, size: number): Buffer {
  return treeOf(leafHashes, size).root(size);
}

export function inclusionProof(leafHashes: Buffer, index: number, size: number): Buffer[] {
  return treeOf(leafHashes, size).inclusionProof(index, size);
}

export function consistencyProof(leafHashes: Buffer, size1: number, size2: number): Buffer[] {
  return treeOf(leafHashes, size2).consistencyProof(size1, size2);
}

// Verification. Sizes may run past 2^32, beyond JavaScript's bit operators, so bits are read
// from the exact binary spelling of the (safe) integer instead.

/** Bit i (0 = least significant) of a safe integer. */
function bit(bits: string, i: number): boolean {
  return bits[bits.length - 1 - i] === '1';
}

function onesCount(n: number): number {
  let count = 0;
  for (const digit of n.toString(2)) if (digit === '1') count++;
  return count;
}

/** How many proof hashes lie below the point where the leaf's path meets the right border, and how many after. */
function decomposeInclusionProof(index: number, size: number): { inner: number; border: number } {
  const a = index.toString(2);
  const b = (size - 1).toString(2);
  const width = Math.max(a.length, b.length);
  const [x, y] = [a.padStart(width, '0'), b.padStart(width, '0')];
  // bit length of index XOR (size - 1): the highest bit where the two differ
  let differ = 0;
  while (differ < width && x[differ] === y[differ]) differ++;
  const inner = width - differ;
  return { inner, border: onesCount(Math.floor(index / 2 ** inner)) };
}

function chainInner(seed: Buffer, proof: readonly Buffer[], index: number): Buffer {
  const bits = index.toString(2);
  let node = seed;
  proof.forEach((sibling, i) => {
    node = bit(bits, i) ? hashChildren(sibling, node) : hashChildren(node, sibling);
  });
  return node;
}

function chainInnerRight(seed: Buffer, proof: readonly Buffer[], index: number): Buffer {
  const bits = index.toString(2);
  let node = seed;
  proof.forEach((sibling, i) => {
    if (bit(bits, i)) node = hashChildren(sibling, node);
  });
  return node;
}

function chainBorderRight(seed: Buffer, proof: readonly Buffer[]): Buffer {
  let node = seed;
  for (const sibling of proof) node = hashChildren(sibling, node);
  return node;
}

function wellFormed(sizes: readonly number[], hashes: readonly Uint8Array[]): boolean {
  return sizes.every((s) => Number.isSafeInteger(s) && s >= 0) && hashes.every((h) => h.length === HASH_BYTES);
}

/**
 * The root an inclusion proof leads to, or undefined when the proof cannot be one for
 * this index and size: index ≥ size, or a length other than exactly what the shape needs.
 */
export function rootFromInclusionProof(
  leafHash: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
): Buffer | undefined {
  if (!wellFormed([index, size], [leafHash, ...proof]) || index >= size) return undefined;
  const { inner, border } = decomposeInclusionProof(index, size);
  if (proof.length !== inner + border) return undefined;
  return chainBorderRight(chainInner(leafHash, proof.slice(0, inner), index), proof.slice(inner));
}

export function verifyInclusion(
  leafHash: Buffer,
  index: number,
  size: number,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  const computed = rootFromInclusionProof(leafHash, index, size, proof);
  return computed !== undefined && root.length === HASH_BYTES && computed.equals(root);
}

/**
 * verifyInclusion for many leaves of one tree, in ascending index order, as a filtered
 * export's proofs come. Neighbouring leaves share the upper part of their paths, so once a
 * path reaches a subtree root the previous proof already led from to the signed root, the
 * rest of the proof must repeat the previous proof's hashes and need not be hashed again.
 * Every element of every proof is still either hashed or compared, and lengths are exact.
 */
export class InclusionVerifier {
  private last: { index: number; inner: number; proof: readonly Buffer[]; nodes: Buffer[] } | undefined;

  constructor(
    readonly size: number,
    private readonly root: Buffer,
  ) {}

  verify(leafHash: Buffer, index: number, proof: readonly Buffer[]): boolean {
    if (!wellFormed([index, this.size], [leafHash, this.root, ...proof]) || index >= this.size) return false;
    const { inner, border } = decomposeInclusionProof(index, this.size);
    if (proof.length !== inner + border) return false;
    const bits = index.toString(2);
    const nodes: Buffer[] = [];
    let node = leafHash;
    for (let i = 0; i < inner; i++) {
      const sibling = proof[i] as Buffer;
      node = bit(bits, i) ? hashChildren(sibling, node) : hashChildren(node, sibling);
      nodes.push(node);
      const shared = this.sharedNode(index, i);
      if (shared === undefined) continue;
      if (!shared.equals(node) || !this.repeatsLastProof(proof, i + 1)) return false;
      this.last = { index, inner, proof, nodes };
      return true;
    }
    if (!chainBorderRight(node, proof.slice(inner)).equals(this.root)) return false;
    this.last = { index, inner, proof, nodes };
    return true;
  }

  /** The node the last verified path had at this position after inner step i, if it went through it. */
  private sharedNode(index: number, i: number): Buffer | undefined {
    const last = this.last;
    if (!last || i >= last.inner) return undefined;
    const span = 2 ** (i + 1);
    return Math.floor(last.index / span) === Math.floor(index / span) ? last.nodes[i] : undefined;
  }

  private repeatsLastProof(proof: readonly Buffer[], from: number): boolean {
    const previous = this.last?.proof ?? [];
    if (previous.length !== proof.length) return false;
    for (let k = from; k < proof.length; k++) if (!(proof[k] as Buffer).equals(previous[k] as Buffer)) return false;
    return true;
  }
}

/** transparency-dev VerifyConsistency: true only for a proof of exactly the expected length that yields both roots. */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Buffer,
  root2: Buffer,
  proof: readonly Buffer[],
): boolean {
  if (!wellFormed([size1, size2], [root1, root2, ...proof]) || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  // Every tree is consistent with the empty tree, and that takes no proof.
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;

  const index = size1 - 1;
  const decomposed = decomposeInclusionProof(index, size2);
  const size1Bits = size1.toString(2);
  const shift = size1Bits.length - 1 - size1Bits.lastIndexOf('1');
  const inner = decomposed.inner - shift;
  // The proof starts with the root of the subtree of 2^shift leaves ending at size1, unless that subtree is the whole first tree.
  const seedIsRoot1 = 2 ** shift === size1;
  const seed = seedIsRoot1 ? root1 : (proof[0] as Buffer);
  const rest = proof.slice(seedIsRoot1 ? 0 : 1);
  if (rest.length !== inner + decomposed.border) return false;

  const mask = Math.floor(index / 2 ** shift);
  const innerPart = rest.slice(0, inner);
  const borderPart = rest.slice(inner);
  const hash1 = chainBorderRight(chainInnerRight(seed, innerPart, mask), borderPart);
  if (!hash1.equals(root1)) return false;
  return chainBorderRight(chainInner(seed, innerPart, mask), borderPart).equals(root2);
}
