// matmul.wgsl — batched matrix product C[b] = A[b] · B[b] in f32, for strided A [batch, M, K]
// and B [batch, K, N] (so a transposed operand is just other strides: no copy), contiguous C.
// Uses prelude.wgsl.
//
// Tiling: each workgroup of 16 × 16 threads computes a TILE × TILE tile of C. It walks K in steps
// of BK: all 256 threads first copy a TILE × BK slab of A and a BK × TILE slab of B into workgroup
// (shared) memory — 4 elements each, zero-padded past the matrix edges, with neighbouring threads
// reading neighbouring addresses of whichever layout the operand has — then every thread
// multiplies out its own block of C from shared memory (register blocking). Each input element is
// thus read from global memory once per tile instead of once per output.
//
// One kernel, two tile sizes, set per pipeline through the `TILE` override (engine/src/gpu/linalg.rs
// picks one per product):
// - TILE = 64, BK = 16: each thread owns a 4 × 4 block of C, rows 4·ty + {0..3} and columns
//   4·tx + {0..3}; per k it reads 2 vec4s of shared memory and does 16 multiply-adds. For small
//   and skinny products.
// - TILE = 128, BK = 8: each thread owns an 8 × 8 block made of 2 × 2 such 4 × 4 blocks 64 apart:
//   rows 4·ty + {0..3} and 64 + 4·ty + {0..3}, columns likewise (so neighbouring threads still
//   read neighbouring vec4s of shared memory). Per k it reads 4 vec4s and does 64 multiply-adds:
//   twice the arithmetic per shared-memory read, and half the global reads per output. When M and
//   N are both at least 128.
//
// bindings: 1 a, 2 b, 3 c
// params: [0] M, [1] N, [2] K, [3] batch,
//         [4] a offset, [5] a batch stride, [6] a row (M) stride, [7] a col (K) stride,
//         [8] b offset, [9] b batch stride, [10] b row (K) stride, [11] b col (N) stride
// grid: (ceil(N / TILE), ceil(M / TILE), batch)

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Side of the tile of C a workgroup computes: 64 or 128.
override TILE: u32 = 64u;
// K step: BK · TILE = 1024, so each of the 256 threads loads 4 elements of each slab per step.
override BK: u32 = 1024u / TILE;
// Each thread owns H × H blocks of 4 × 4 outputs, 64 apart (H = 1 or 2).
override H: u32 = TILE / 64u;
// The largest H, for the size of the per-thread accumulator (function arrays need a const size).
const MAX_H: u32 = 2u;

// As[k][m / 4] and Bs[k][n / 4]: K-major, so a thread's 4 rows (or 4 columns) are one vec4.
var<workgroup> As: array<vec4<f32>, BK * TILE / 4u>;
var<workgroup> Bs: array<vec4<f32>, BK * TILE / 4u>;

@compute @workgroup_size(16, 16)
fn matmul(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let m_n = params[0];
    let n_n = params[1];
    let k_n = params[2];
    let batch = wid.z;
    let a0 = params[4] + batch * params[5];
    let b0 = params[8] + batch * params[9];
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;

    // acc[4·hm + i][hn] = C[row0 + 64·hm + 4·ty + i][col0 + 64·hn + 4·tx .. + 4]
    var acc: array<array<vec4<f32>, MAX_H>, 4u * MAX_H>;

    for (var k0 = 0u; k0 < k_n; k0 = k0 + BK) {
        // Load the A slab (TILE rows × BK k) and the B slab (BK k × TILE columns), 4 elements per
        // thread each. Neighbouring threads should read neighbouring addresses (coalesced
        // loads), so the thread → element mapping follows the operand's unit stride: along k
        // when A is row-major (its k stride is 1), along m when A is stored transposed; along n
        // for a row-major B, along k for a transposed one.
        for (var j = 0u; j < 4u; j = j + 1u) {
            var mm = t % TILE;
            var kk = t / TILE + (256u / TILE) * j;
            if (params[7] == 1u) {
                kk = t % BK;
                mm = t / BK + (256u / BK) * j;
            }
            let gm = row0 + mm;
            let gk = k0 + kk;
            var va = 0.0;
            if (gm < m_n && gk < k_n) {
                va = a[a0 + gm * params[6] + gk * params[7]];
            }
            As[kk * (TILE / 4u) + mm / 4u][mm % 4u] = va;

            var nn = t % TILE;
            var kb = t / TILE + (256u / TILE) * j;
            if (params[10] == 1u && params[11] != 1u) {
                kb = t % BK;
                nn = t / BK + (256u / BK) * j;
            }
            let gn = col0 + nn;
            let gkb = k0 + kb;
            var vb = 0.0;
            if (gkb < k_n && gn < n_n) {
                vb = b[b0 + gkb * params[10] + gn * params[11]];
            }
            Bs[kb * (TILE / 4u) + nn / 4u][nn % 4u] = vb;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            // H vec4s of B (columns 64·hn + 4·tx ..), then H vec4s of A (rows 64·hm + 4·ty ..).
            var bv: array<vec4<f32>, MAX_H>;
            for (var hn = 0u; hn < H; hn = hn + 1u) {
                bv[hn] = Bs[kk * (TILE / 4u) + 16u * hn + lid.x];
            }
            for (var hm = 0u; hm < H; hm = hm + 1u) {
                let av = As[kk * (TILE / 4u) + 16u * hm + lid.y];
                for (var hn = 0u; hn < H; hn = hn + 1u) {
                    acc[4u * hm][hn] = acc[4u * hm][hn] + av.x * bv[hn];
                    acc[4u * hm + 1u][hn] = acc[4u * hm + 1u][hn] + av.y * bv[hn];
                    acc[4u * hm + 2u][hn] = acc[4u * hm + 2u][hn] + av.z * bv[hn];
                    acc[4u * hm + 3u][hn] = acc[4u * hm + 3u][hn] + av.w * bv[hn];
                }
            }
        }
        workgroupBarrier();
    }

    let c0 = batch * m_n * n_n;
    for (var hm = 0u; hm < H; hm = hm + 1u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let gm = row0 + 64u * hm + 4u * lid.y + i;
            if (gm >= m_n) {
                continue;
            }
            for (var hn = 0u; hn < H; hn = hn + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) {
                    let gn = col0 + 64u * hn + 4u * lid.x + j;
                    if (gn < n_n) {
                        c[c0 + gm * n_n + gn] = acc[4u * hm + i][hn][j];
                    }
                }
            }
        }
    }
}
