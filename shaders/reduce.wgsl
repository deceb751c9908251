// reduce.wgsl — sum, max and argmax of a strided f32 tensor over any set of axes (min and argmin
// are −max(−x) and argmax(−x), composed by the engine).
// Uses prelude.wgsl.
//
// The host splits the input's dims into kept dims (one output element per combination) and
// reduced dims (R elements folded into each output). One workgroup of 128 threads owns one output
// element: each thread folds every 128th of the R inputs into a register, then the workgroup
// combines the 128 partial results in shared memory by halving (a tree, so a sum of R terms has
// O(log R) rounding depth instead of O(R)). Ties in argmax keep the lowest index, like
// the CPU. Output elements are spread over a 2-D grid of workgroups (65,535 per dimension).
//
// bindings: 1 x (f32), 2 out (f32 bits, or i32 indices for ARG ops)
// params: [0] number of outputs, [1] kept rank, [2] reduced rank, [3] R,
//         [4..12] kept shape, [12..21] x: offset + kept strides,
//         [21..29] reduced shape, [29..38] reduced strides (offset slot unused, 0).
// OP: 0 sum, 1 max, 2 argmax.

override OP: u32 = 0u;

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

const T: u32 = 128u;
var<workgroup> vals: array<f32, T>;
var<workgroup> idxs: array<u32, T>;

// Does (v, i) beat the current best (b, j)?
fn better(v: f32, i: u32, b: f32, j: u32) -> bool {
    return v > b || (v == b && i < j);
}

@compute @workgroup_size(128)
fn reduce(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let row = wid.x + wid.y * nwg.x;
    // The whole workgroup leaves together, so the barriers below stay uniform.
    if (row >= params[0]) {
        return;
    }
    let r_n = params[3];
    let base = strided(row, params[1], 4u, 12u);
    var acc = 0.0;
    var arg = 0xffffffffu;
    if (OP != 0u) {
        acc = -infinity();
    }
    for (var j = t; j < r_n; j = j + T) {
        let v = x[base + strided(j, params[2], 21u, 29u)];
        if (OP == 0u) {
            acc = acc + v;
        } else if (arg == 0xffffffffu || better(v, j, acc, arg)) {
            acc = v;
            arg = j;
        }
    }
    vals[t] = acc;
    idxs[t] = arg;
    workgroupBarrier();
    for (var s = T / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            if (OP == 0u) {
                vals[t] = vals[t] + vals[t + s];
            } else if (idxs[t + s] != 0xffffffffu && (idxs[t] == 0xffffffffu || better(vals[t + s], idxs[t + s], vals[t], idxs[t]))) {
                vals[t] = vals[t + s];
                idxs[t] = idxs[t + s];
            }
        }
        workgroupBarrier();
    }
    if (t == 0u) {
        if (OP == 2u) {
            out[row] = idxs[0];
        } else {
            out[row] = bitcast<u32>(vals[0]);
        }
    }
}
