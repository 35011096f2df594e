/**
 * Half-open intervals [start, end) of latin1 key strings, each holding one value, with
 * stabbing queries: which intervals contain a key. A treap ordered by (start, end), each node
 * knowing the largest end below it, so a query costs O(log n + matches) expected, like the
 * interval tree etcd keeps for its range watchers. An end of '' means "no upper bound".
 */

/** Greater than every latin1 string: keys are latin1, so no code unit exceeds 0xff. */
const UNBOUNDED = '\u0100';

interface TreeNode<V> {
  readonly start: string;
  /** Exclusive end; UNBOUNDED for none. */
  readonly end: string;
  value: V;
  readonly priority: number;
  left: TreeNode<V> | undefined;
  right: TreeNode<V> | undefined;
  /** Largest end in this subtree. */
  maxEnd: string;
}

function compare(aStart: string, aEnd: string, bStart: string, bEnd: string): number {
  if (aStart !== bStart) return aStart < bStart ? -1 : 1;
  if (aEnd !== bEnd) return aEnd < bEnd ? -1 : 1;
  return 0;
}

function update<V>(node: TreeNode<V>): TreeNode<V> {
  let max = node.end;
  if (node.left !== undefined && node.left.maxEnd > max) max = node.left.maxEnd;
  if (node.right !== undefined && node.right.maxEnd > max) max = node.right.maxEnd;
  node.maxEnd = max;
  return node;
}

function rotateRight<V>(node: TreeNode<V>): TreeNode<V> {
  const l = node.left!;
  node.left = l.right;
  l.right = update(node);
  return update(l);
}

function rotateLeft<V>(node: TreeNode<V>): TreeNode<V> {
  const r = node.right!;
  node.right = r.left;
  r.left = update(node);
  return update(r);
}

export class IntervalTree<V> {
  private root: TreeNode<V> | undefined;
  private count = 0;

  /** Number of distinct intervals. */
  get size(): number {
    return this.count;
  }

  get(start: string, end: string): V | undefined {
    const e = end === '' ? UNBOUNDED : end;
    let node = this.root;
    while (node !== undefined) {
      const c = compare(start, e, node.start, node.end);
      if (c === 0) return node.value;
      node = c < 0 ? node.left : node.right;
    }
    return undefined;
  }

  /** Sets the value of an interval, adding the interval if it is new. */
  set(start: string, end: string, value: V): void {
    this.root = this.insert(this.root, start, end === '' ? UNBOUNDED : end, value);
  }

  /** Removes an interval; false if it was not there. */
  delete(start: string, end: string): boolean {
    const before = this.count;
    this.root = this.remove(this.root, start, end === '' ? UNBOUNDED : end);
    return this.count < before;
  }

  /** Calls fn with the value of every interval that contains key. */
  stab(key: string, fn: (value: V) => void): void {
    if (this.root !== undefined) stabNode(this.root, key, fn);
  }

  /** Calls fn with every value, in interval order. */
  forEach(fn: (value: V) => void): void {
    const walk = (node: TreeNode<V> | undefined): void => {
      if (node === undefined) return;
      walk(node.left);
      fn(node.value);
      walk(node.right);
    };
    walk(this.root);
  }

  private insert(node: TreeNode<V> | undefined, start: string, end: string, value: V): TreeNode<V> {
    if (node === undefined) {
      this.count++;
      return { start, end, value, priority: Math.random(), left: undefined, right: undefined, maxEnd: end };
    }
    const c = compare(start, end, node.start, node.end);
    if (c === 0) {
      node.value = value;
      return node;
    }
    if (c < 0) {
      node.left = this.insert(node.left, start, end, value);
      if (node.left.priority > node.priority) return rotateRight(node);
    } else {
      node.right = this.insert(node.right, start, end, value);
      if (node.right.priority > node.priority) return rotateLeft(node);
    }
    return update(node);
  }

  private remove(node: TreeNode<V> | undefined, start: string, end: string): TreeNode<V> | undefined {
    if (node === undefined) return undefined;
    const c = compare(start, end, node.start, node.end);
    if (c < 0) node.left = this.remove(node.left, start, end);
    else if (c > 0) node.right = this.remove(node.right, start, end);
    else {
      this.count--;
      return this.join(node.left, node.right);
    }
    return update(node);
  }

  /** Merges two treaps where every interval of a precedes every interval of b. */
  private join(a: TreeNode<V> | undefined, b: TreeNode<V> | undefined): TreeNode<V> | undefined {
    if (a === undefined) return b;
    if (b === undefined) return a;
    if (a.priority > b.priority) {
      a.right = this.join(a.right, b);
      return update(a);
    }
    b.left = this.join(a, b.left);
    return update(b);
  }
}

function stabNode<V>(node: TreeNode<V>, key: string, fn: (value: V) => void): void {
  // No interval below ends after key: none contains it.
  if (node.maxEnd <= key) return;
  if (node.left !== undefined) stabNode(node.left, key, fn);
  // Intervals to the right start at or after this one: none contains a key before it.
  if (node.start > key) return;
  if (key < node.end) fn(node.value);
  if (node.right !== undefined) stabNode(node.right, key, fn);
}
