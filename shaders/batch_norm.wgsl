// batch_norm.wgsl — the fused kernels of batch normalisation for x of shape [N, C, S] (S = H·W, or
// 1 for [N, C] inputs), contiguous. Uses prelude.wgsl. M = N·S values per channel.
//
//   stats:        out[c] = μ_c = Σ x / M,  out[C + c] = σ²_c = Σ (x − μ_c)² / M  (biased)
//                 Two passes over the channel's values (first the mean, then the squared
//                 deviations from it): no catastrophic cancellation, unlike E[x²] − E[x]².
//                 One workgroup of 256 threads per channel; each thread sums a strided share,
//                 then a shared-memory tree combines the 256 partial sums.
//   sums:         the two reductions the backward pass needs, in one read of x and dy:
//                 out[c] = Σ dy,  out[C + c] = Σ dy·x̂  with x̂ = (x − μ_c)·invstd_c.
//                 Same layout: one workgroup per channel.
//   channel_fma:  out[i] = a[i]·k[c] + b[i]·p[c] + q[c] for the channel c of element i, one thread
//                 per element. Forward: y = x·(γ·invstd) + (β − μ·γ·invstd) (b = a, p = 0).
//                 Backward: dx = dy·k + x·p + q with k = γ·invstd, p = −k·invstd·Σdy·x̂/M,
//                 q = −k·Σdy/M − μ·p, which is γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)).
//
// bindings: stats: 1 x, 6 out;  sums: 1 x, 2 dy, 3 mean, 4 invstd, 6 out;
//           channel_fma: 1 a, 2 b, 3 k, 4 p, 5 q, 6 out
// params: [0] N, [1] C, [2] S

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> c1: array<f32>;
@group(0) @binding(4) var<storage, read> c2: array<f32>;
@group(0) @binding(5) var<storage, read> c3: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

const T: u32 = 256u;
var<workgroup> part_a: array<f32, T>;
var<workgroup> part_b: array<f32, T>;

// Tree-sum of part_a and part_b across the workgroup; the totals end in element 0.
fn tree_sum(t: u32) {
    for (var s = T / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            part_a[t] = part_a[t] + part_a[t + s];
            part_b[t] = part_b[t] + part_b[t + s];
        }
        workgroupBarrier();
    }
}

// Index of the j-th value of channel c (j < M = N·S).
fn at(c: u32, j: u32) -> u32 {
    let s_n = params[2];
    return ((j / s_n) * params[1] + c) * s_n + j % s_n;
}

@compute @workgroup_size(256)
fn stats(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wid.x;
    let m = params[0] * params[2];
    var acc = 0.0;
    for (var j = t; j < m; j = j + T) {
        acc = acc + x[at(c, j)];
    }
    part_a[t] = acc;
    part_b[t] = 0.0;
    workgroupBarrier();
    tree_sum(t);
    let mean = part_a[0] / f32(m);
    workgroupBarrier();
    var dev = 0.0;
    for (var j = t; j < m; j = j + T) {
        let d = x[at(c, j)] - mean;
        dev = dev + d * d;
    }
    part_a[t] = 0.0;
    part_b[t] = dev;
    workgroupBarrier();
    tree_sum(t);
    if (t == 0u) {
        out[c] = mean;
        out[params[1] + c] = part_b[0] / f32(m);
    }
}

@compute @workgroup_size(256)
fn sums(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let c = wid.x;
    let m = params[0] * params[2];
    let mean = c1[c];
    let invstd = c2[c];
    var s_dy = 0.0;
    var s_dyx = 0.0;
    for (var j = t; j < m; j = j + T) {
        let i = at(c, j);
        let g = y[i];
        s_dy = s_dy + g;
        s_dyx = s_dyx + g * (x[i] - mean) * invstd;
    }
    part_a[t] = s_dy;
    part_b[t] = s_dyx;
    workgroupBarrier();
    tree_sum(t);
    if (t == 0u) {
        out[c] = part_a[0];
        out[params[1] + c] = part_b[0];
    }
}

@compute @workgroup_size(256)
fn channel_fma(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0] * params[1] * params[2]) {
        return;
    }
    let c = (i / params[2]) % params[1];
    out[i] = x[i] * c1[c] + y[i] * c2[c] + c3[c];
}
