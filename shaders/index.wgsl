// index.wgsl — indexing along one dim and the adjoints that sum gradients back. Uses prelude.wgsl.
// One thread per output element. Inputs are contiguous; shapes are split around the indexed
// dim into (outer, dim, inner). Index tensors are i32 on the GPU.
//
//   index_select: out[o, j, r] = src[o, idx[j], r]             (any 32-bit dtype)
//   index_add:    out[o, i, r] = Σ_{j : idx[j] = i} src[o, j, r]
//   gather:       out[o, j, r] = src[o, idx[o, j, r], r]      (any 32-bit dtype)
//   scatter_add:  out[o, k, r] = Σ_{j : idx[o, j, r] = k} src[o, j, r]
// The adjoints loop over the J indices for each output element instead of scattering with
// atomics: WGSL has no float atomics, and the gather form gives the same sums in a fixed order on
// every run. J is a batch or a class count in this engine, so the loop is short.
// An index outside [0, dim) reads as 0 (the CPU backend reports it as an error).
//
// bindings: 1 src (f32 or raw words), 2 idx (i32), 3 out
// params: [0] n_out, [1] outer, [2] d (size of the indexed dim of src for the selects, of out for
//         the adjoints), [3] inner, [4] J (number of indices along the dim)

@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;

fn in_range(k: i32, d: u32) -> bool {
    return k >= 0 && u32(k) < d;
}

@compute @workgroup_size(256)
fn index_select(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear_id(gid, nwg);
    if (e >= params[0]) {
        return;
    }
    let d = params[2];
    let inner = params[3];
    let jn = params[4];
    let r = e % inner;
    let j = (e / inner) % jn;
    let o = e / (inner * jn);
    let k = idx[j];
    out[e] = select(0u, src[(o * d + u32(max(k, 0))) * inner + r], in_range(k, d));
}

@compute @workgroup_size(256)
fn index_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear_id(gid, nwg);
    if (e >= params[0]) {
        return;
    }
    let d = params[2];
    let inner = params[3];
    let jn = params[4];
    let r = e % inner;
    let i = (e / inner) % d;
    let o = e / (inner * d);
    var acc = 0.0;
    for (var j = 0u; j < jn; j = j + 1u) {
        if (idx[j] == i32(i)) {
            acc = acc + bitcast<f32>(src[(o * jn + j) * inner + r]);
        }
    }
    out[e] = bitcast<u32>(acc);
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear_id(gid, nwg);
    if (e >= params[0]) {
        return;
    }
    let d = params[2];
    let inner = params[3];
    let jn = params[4];
    let r = e % inner;
    let o = e / (inner * jn);
    let k = idx[e];
    out[e] = select(0u, src[(o * d + u32(max(k, 0))) * inner + r], in_range(k, d));
}

@compute @workgroup_size(256)
fn scatter_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let e = linear_id(gid, nwg);
    if (e >= params[0]) {
        return;
    }
    let d = params[2];
    let inner = params[3];
    let jn = params[4];
    let r = e % inner;
    let k = (e / inner) % d;
    let o = e / (inner * d);
    var acc = 0.0;
    for (var j = 0u; j < jn; j = j + 1u) {
        let at = (o * jn + j) * inner + r;
        if (idx[at] == i32(k)) {
            acc = acc + bitcast<f32>(src[at]);
        }
    }
    out[e] = bitcast<u32>(acc);
}
