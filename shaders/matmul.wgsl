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
