// elementwise.wgsl — f32 maps of one or two strided tensors into a contiguous output.
// Uses prelude.wgsl. One thread per output element, 256 threads per workgroup.
//
// Entry points (OP is a pipeline-overridable constant, so each op compiles to its own pipeline
// and the switch folds away):
//   unary:  out[i] = f(a[i])                      bindings: 1 a, 4 out
//   binary: out[i] = f(a[i], b[i])                 bindings: 1 a, 2 b, 4 out
//   cmp:    out[i] = a[i] (==, >) b[i] ? 1 : 0       bindings: 1 a, 2 b (f32, or i32 when DT = 1), 4 out
// Broadcasting is done by the host: a broadcast dim has stride 0, so no copy is made.
//
// params: [0] n, [1] rank, [2..10] output shape, [10..19] a: offset + 8 strides,
//         [19..28] b: offset + 8 strides, [46] p0, [47] p1 (f32 scalars of the op).

override OP: u32 = 0u;
// Operand dtype for `cmp`: 0 = f32, 1 = i32.
override DT: u32 = 0u;

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const SHAPE: u32 = 2u;
const A: u32 = 10u;
const B: u32 = 19u;
const P0: u32 = 46u;
const P1: u32 = 47u;

// x^p for any sign of x: integer powers of negative numbers keep their sign, as in Rust's powf.
fn power(x: f32, p: f32) -> f32 {
    if (p == 0.0) {
        return 1.0;
    }
    if (x == 0.0) {
        return select(infinity(), 0.0, p > 0.0);
    }
    let r = pow(abs(x), p);
    if (x < 0.0) {
        if (fract(p) != 0.0) {
            return nan(); // as for a fractional power of a negative number
        }
        let odd = (i32(abs(p)) & 1) == 1;
        return select(r, -r, odd);
    }
    return r;
}

fn sigmoid(x: f32) -> f32 {
    // Never exponentiate a large positive number.
    if (x >= 0.0) {
        return 1.0 / (1.0 + exp(-x));
    }
    let e = exp(x);
    return e / (1.0 + e);
}

// OP codes follow `unary_code`, `binary_code` and `cmp_code` in engine/src/gpu/elementwise.rs.
fn unary_op(x: f32) -> f32 {
    let p0 = param_f32(P0);
    let p1 = param_f32(P1);
    switch OP {
        case 0u: { return -x; }
        case 1u: { return exp(x); }
        case 2u: { return log(x); }
        case 3u: { return sqrt(x); }
        case 4u: { return 1.0 / x; }
        case 5u: { return x * p0 + p1; }
        case 6u: { return power(x, p0); }
        case 7u: { return max(x, 0.0); }
        case 8u: { return select(p0 * x, x, x > 0.0); }
        case 9u: { return sigmoid(x); }
        // tanh is ±1 in f32 beyond |x| = 15; clamping avoids exp overflow in some drivers.
        case 10u: { return tanh(clamp(x, -15.0, 15.0)); }
        default: { return x; }
    }
}

fn binary_op(x: f32, y: f32) -> f32 {
    switch OP {
        case 0u: { return x + y; }
        case 1u: { return x * y; }
        case 2u: { return x / y; }
        case 3u: { return power(x, y); }
        // NaN wins, like the CPU kernels.
        case 4u: { return select(y, x, x >= y || x != x); }
        default: { return x; }
    }
}

// Eq (0) or Gt (1); the other comparisons are compositions of these.
fn compare(x: f32, y: f32) -> bool {
    if (OP == 0u) {
        return x == y;
    }
    return x > y;
}

fn compare_i(x: i32, y: i32) -> bool {
    if (OP == 0u) {
        return x == y;
    }
    return x > y;
}

@compute @workgroup_size(256)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    out[i] = unary_op(a[strided(i, params[1], SHAPE, A)]);
}

@compute @workgroup_size(256)
fn binary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let rank = params[1];
    out[i] = binary_op(a[strided(i, rank, SHAPE, A)], b[strided(i, rank, SHAPE, B)]);
}

@compute @workgroup_size(256)
fn cmp(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let rank = params[1];
    let x = a[strided(i, rank, SHAPE, A)];
    let y = b[strided(i, rank, SHAPE, B)];
    var t: bool;
    if (DT == 1u) {
        t = compare_i(bitcast<i32>(x), bitcast<i32>(y));
    } else {
        t = compare(x, y);
    }
    out[i] = select(0.0, 1.0, t);
}
