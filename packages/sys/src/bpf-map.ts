/**
 * A BPF map by file descriptor over the libbpf door: update, lookup, delete and whole-map reads (batched where the
 * kernel can). Used by the xdp dataplane's maps and vsd-agent's decapsulator. Every failure is a BpfError naming
 * the map, the call and the errno.
 */
import { BpfError } from './errors.js';
import { BPF_ANY, libbpf } from './libbpf.js';

/** A BPF map by file descriptor, with fixed key and value sizes (per-CPU maps: one value per possible CPU). */
export class BpfMap {
  /** Bytes of one lookup result: value size, or for per-CPU maps round_up(value, 8) x possible CPUs. */
  readonly valueBytes: number;

  constructor(
    readonly name: string,
    readonly fd: number,
    readonly keySize: number,
    readonly valueSize: number,
    readonly perCpu = 0,
  ) {
    this.valueBytes = perCpu > 0 ? Math.ceil(valueSize / 8) * 8 * perCpu : valueSize;
  }

  update(key: Buffer, value: Buffer, flags = BPF_ANY): void {
    const rc = libbpf().mapUpdate(this.fd, key, value, flags);
    if (rc < 0) throw this.failed('bpf_map_update_elem', rc);
  }

  /** The value, or null when the key is absent. */
  lookup(key: Buffer): Buffer | null {
    const value = Buffer.alloc(this.valueBytes);
    const rc = libbpf().mapLookup(this.fd, key, value);
    if (rc === -2) return null;
    if (rc < 0) throw this.failed('bpf_map_lookup_elem', rc);
    return value;
  }

  /** True when the key was there. */
  delete(key: Buffer): boolean {
    const rc = libbpf().mapDelete(this.fd, key);
    if (rc === -2) return false;
    if (rc < 0) throw this.failed('bpf_map_delete_elem', rc);
    return true;
  }

  /**
   * Every (key, value) now in the map, read in batches of `chunk` (BPF_MAP_LOOKUP_BATCH: one syscall per chunk
   * instead of two per entry); falls back to get_next_key + lookup where the kernel has no batch ops for the map.
   */
  entries(limit = 1 << 22, chunk = 1024): Array<[Buffer, Buffer]> {
    const lib = libbpf();
    const out: Array<[Buffer, Buffer]> = [];
    const token = [Buffer.alloc(Math.max(8, this.keySize)), Buffer.alloc(Math.max(8, this.keySize))];
    const keys = Buffer.alloc(this.keySize * chunk);
    const values = Buffer.alloc(this.valueBytes * chunk);
    const count = Buffer.alloc(4);
    let first = true;
    for (;;) {
      count.writeUInt32LE(chunk, 0);
      const rc = lib.lookupBatch(this.fd, first ? null : token[0]!, token[1]!, keys, values, count, null);
      if (rc < 0 && rc !== -2) {
        if (first) {
          for (const k of this.keys(limit)) {
            const v = this.lookup(k);
            if (v) out.push([k, v]);
          }
          return out;
        }
        throw this.failed('bpf_map_lookup_batch', rc);
      }
      const n = count.readUInt32LE(0);
      for (let i = 0; i < n && out.length < limit; i++)
        out.push([
          Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          Buffer.from(values.subarray(i * this.valueBytes, (i + 1) * this.valueBytes)),
        ]);
      if (rc === -2 || out.length >= limit) return out;
      token.reverse();
      first = false;
    }
  }

  /** Every key now in the map (a hash map changing meanwhile may skip or repeat some, as get_next_key does). */
  keys(limit = 1 << 22): Buffer[] {
    const out: Buffer[] = [];
    let prev: Buffer | null = null;
    while (out.length < limit) {
      const next = Buffer.alloc(this.keySize);
      const rc = libbpf().mapNextKey(this.fd, prev, next);
      if (rc === -2) break;
      if (rc < 0) throw this.failed('bpf_map_get_next_key', rc);
      out.push(next);
      prev = next;
    }
    return out;
  }

  /** The error for a libbpf map call that returned `rc` (-errno). */
  private failed(call: string, rc: number): BpfError {
    return new BpfError(call, -rc, undefined, { map: this.name });
  }
}
