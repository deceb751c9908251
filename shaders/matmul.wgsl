// matmul.wgsl — batched matrix product C[b] = A[b] · B[b] in f32, for strided A [batch, M, K]
// and B [batch, K, N] (so a transposed operand is just other strides: no copy), contiguous C.
// Uses prelude.wgsl.
//
// Tiling: each workgroup of 16 × 16 threads computes a 64 × 64 tile of C. It walks K in steps of
// 16: all 256 threads first copy a 64 × 16 slab of A and a 16 × 64 slab of B into workgroup
// (shared) memory — 4 elements each, zero-padded past the matrix edges, with neighbouring threads
// reading neighbouring addresses of whichever layout the operand has — then every thread
// multiplies out its own 4 × 4 block of C from shared memory, reading 4 rows of A and 4 columns
// of B as two vec4 loads per k (register blocking: 16 multiply-adds per 8 shared loads). Each
// input element is thus read from global memory once per tile instead of once per output.
//
// bindings: 1 a, 2 b, 3 c
// params: [0] M, [1] N, [2] K, [3] batch,
//         [4] a offset, [5] a batch stride, [6] a row (M) stride, [7] a col (K) stride,
//         [8] b offset, [9] b batch stride, [10] b row (K) stride, [11] b col (N) stride
// grid: (ceil(N / 64), ceil(M / 64), batch)
//
// Two entry points: `matmul` (64 × 64 tiles, below) for small and skinny products, and
// `matmul_large` (128 × 128 tiles, 8 × 8 outputs per thread, at the end of the file) when M and N
// are both at least 128.

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 16u;

// As[k][m / 4] and Bs[k][n / 4]: K-major, so a thread's 4 rows (or 4 columns) are one vec4.
var<workgroup> As: array<vec4<f32>, 256>; // BK * BM / 4
var<workgroup> Bs: array<vec4<f32>, 256>; // BK * BN / 4

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
    let row0 = wid.y * BM;
    let col0 = wid.x * BN;

    var acc: array<vec4<f32>, 4>; // acc[i] = C[row0 + 4 ty + i][col0 + 4 tx .. + 4]

    for (var k0 = 0u; k0 < k_n; k0 = k0 + BK) {
        // Load the A slab (64 rows × 16 k) and the B slab (16 k × 64 columns), 4 elements per
        // thread each. Neighbouring threads should read neighbouring addresses (coalesced
        // loads), so the thread → element mapping follows the operand's unit stride: along k
        // when A is row-major (its k stride is 1), along m when A is stored transposed; along n
        // for a row-major B, along k for a transposed one.
        for (var j = 0u; j < 4u; j = j + 1u) {
            var mm = t % BM;
            var kk = t / BM + 4u * j;
            if (params[7] == 1u) {
                kk = t % BK;
                mm = t / BK + 16u * j;
            }
            let gm = row0 + mm;
            let gk = k0 + kk;
            var va = 0.0;
            if (gm < m_n && gk < k_n) {
                va = a[a0 + gm * params[6] + gk * params[7]];
            }
            As[kk * (BM / 4u) + mm / 4u][mm % 4u] = va;

            var nn = t % BN;
            var kb = t / BN + 4u * j;
            if (params[10] == 1u && params[11] != 1u) {
                kb = t % BK;
                nn = t / BK + 16u * j;
            }
            let gn = col0 + nn;
            let gkb = k0 + kb;
            var vb = 0.0;
            if (gkb < k_n && gn < n_n) {
                vb = b[b0 + gkb * params[10] + gn * params[11]];
            }
            Bs[kb * (BN / 4u) + nn / 4u][nn % 4u] = vb;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < BK; kk = kk + 1u) {
            let av = As[kk * (BM / 4u) + lid.y];
            let bv = Bs[kk * (BN / 4u) + lid.x];
            acc[0] = acc[0] + av.x * bv;
            acc[1] = acc[1] + av.y * bv;
            acc[2] = acc[2] + av.z * bv;
            acc[3] = acc[3] + av.w * bv;
        }
        workgroupBarrier();
    }

    let c0 = batch * m_n * n_n;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let gm = row0 + 4u * lid.y + i;
        if (gm >= m_n) {
            break;
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let gn = col0 + 4u * lid.x + j;
            if (gn < n_n) {
                c[c0 + gm * n_n + gn] = acc[i][j];
            }
        }
    }
}

// ---- matmul_large: the same product with 128 × 128 tiles and 8 × 8 outputs per thread ----------
//
// For big matrices (M and N ≥ 128) each workgroup of 16 × 16 threads computes a 128 × 128 tile of
// C, stepping K by 8. Each thread owns an 8 × 8 block: rows 4·ty + {0..3} and 64 + 4·ty + {0..3},
// columns 4·tx + {0..3} and 64 + 4·tx + {0..3} (two 4-wide halves, so neighbouring threads read
// neighbouring vec4s of shared memory). Per k it reads 4 vec4s and does 64 multiply-adds:
// twice the arithmetic per shared-memory read of the 64 × 64 kernel, and half the global reads
// per output. grid: (ceil(N / 128), ceil(M / 128), batch).

const LM: u32 = 128u;
const LK: u32 = 8u;

var<workgroup> Al: array<vec4<f32>, 256>; // [LK][LM / 4]
var<workgroup> Bl: array<vec4<f32>, 256>; // [LK][LN / 4]

@compute @workgroup_size(16, 16)
fn matmul_large(
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
    let row0 = wid.y * LM;
    let col0 = wid.x * LM;

    // acc[i][h]: row (i < 4 ? 4·ty + i : 64 + 4·ty + i − 4), columns of half h (4 each)
    var acc: array<array<vec4<f32>, 2>, 8>;

    for (var k0 = 0u; k0 < k_n; k0 = k0 + LK) {
        // 128 × 8 slabs, 4 elements per thread, mapped along the operand's unit stride.
        for (var j = 0u; j < 4u; j = j + 1u) {
            var mm = t % LM;
            var kk = t / LM + 2u * j;
            if (params[7] == 1u) {
                kk = t % LK;
                mm = t / LK + 32u * j;
            }
            var va = 0.0;
            if (row0 + mm < m_n && k0 + kk < k_n) {
                va = a[a0 + (row0 + mm) * params[6] + (k0 + kk) * params[7]];
            }
            Al[kk * (LM / 4u) + mm / 4u][mm % 4u] = va;

            var nn = t % LM;
            var kb = t / LM + 2u * j;
            if (params[10] == 1u && params[11] != 1u) {
                kb = t % LK;
                nn = t / LK + 32u * j;
            }
            var vb = 0.0;
            if (k0 + kb < k_n && col0 + nn < n_n) {
                vb = b[b0 + (k0 + kb) * params[10] + (col0 + nn) * params[11]];
            }
            Bl[kb * (LM / 4u) + nn / 4u][nn % 4u] = vb;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < LK; kk = kk + 1u) {
            let a_lo = Al[kk * (LM / 4u) + lid.y];
            let a_hi = Al[kk * (LM / 4u) + 16u + lid.y];
            let b_lo = Bl[kk * (LM / 4u) + lid.x];
            let b_hi = Bl[kk * (LM / 4u) + 16u + lid.x];
            for (var i = 0u; i < 4u; i = i + 1u) {
                acc[i][0] = acc[i][0] + a_lo[i] * b_lo;
                acc[i][1] = acc[i][1] + a_lo[i] * b_hi;
                acc[4u + i][0] = acc[4u + i][0] + a_hi[i] * b_lo;
                acc[4u + i][1] = acc[4u + i][1] + a_hi[i] * b_hi;
            }
        }
        workgroupBarrier();
    }

    let c0 = batch * m_n * n_n;
    for (var i = 0u; i < 8u; i = i + 1u) {
        let gm = row0 + select(4u * lid.y + i, 64u + 4u * lid.y + i - 4u, i >= 4u);
        if (gm >= m_n) {
            continue;
        }
        for (var h = 0u; h < 2u; h = h + 1u) {
            for (var j = 0u; j < 4u; j = j + 1u) {
                let gn = col0 + 64u * h + 4u * lid.x + j;
                if (gn < n_n) {
                    c[c0 + gm * n_n + gn] = acc[i][h][j];
                }
            }
        }
    }
}
