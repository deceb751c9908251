// optim.wgsl — fused, in-place optimizer updates, so a training loop never copies parameters to
// the host. Uses prelude.wgsl. One thread per parameter element; all buffers contiguous f32.
// The formulas are the CPU backend's (engine/src/cpu/optim.rs), which follow PyTorch's.
//
//   axpby:     p = α·p + β·g
//   sgd:       d = g + wd·p;  v = μ·v + d;  p = p − lr·(nesterov ? d + μ·v : v)   (no v when μ = 0)
//   adam:      g' = g + wd·p (L2) or p = p·(1 − lr·wd) (AdamW);  m = β1·m + (1 − β1)·g';
//              v = β2·v + (1 − β2)·g'²;  p = p − step·m / (√v / √bc2 + ε)
//              with step = lr / bc1 and bc1, bc2 the bias corrections 1 − βᵗ, computed on the host.
//
// bindings: 1 g, 2 p (read_write), 3 m or velocity, 4 v
// params: [0] n, [1..] f32 hyper-parameters (see each entry)

override NESTEROV: bool = false;
override MOMENTUM: bool = true;
override DECOUPLED: bool = false;

@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> p: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

// params: [1] α, [2] β
@compute @workgroup_size(256)
fn axpby(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    p[i] = p[i] * param_f32(1u) + g[i] * param_f32(2u);
}

// params: [1] lr, [2] momentum μ, [3] weight decay; binding 3 is the velocity (unused without μ,
// but always bound so that one layout serves both variants)
@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let lr = param_f32(1u);
    let mu = param_f32(2u);
    let d = g[i] + param_f32(3u) * p[i];
    if (MOMENTUM) {
        let vel = mu * m[i] + d;
        m[i] = vel;
        p[i] = p[i] - lr * select(vel, d + mu * vel, NESTEROV);
    } else {
        p[i] = p[i] - lr * d;
    }
}

// params: [1] β1, [2] β2, [3] ε, [4] wd, [5] step = lr / bc1, [6] √bc2, [7] decay = 1 − lr·wd
@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = linear_id(gid, nwg);
    if (i >= params[0]) {
        return;
    }
    let b1 = param_f32(1u);
    let b2 = param_f32(2u);
    var gi = g[i];
    var pi = p[i];
    if (DECOUPLED) {
        pi = pi * param_f32(7u);
    } else {
        gi = gi + param_f32(4u) * pi;
    }
    let mi = b1 * m[i] + (1.0 - b1) * gi;
    let vi = b2 * v[i] + (1.0 - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - param_f32(5u) * mi / (sqrt(vi) / param_f32(6u) + param_f32(3u));
}
