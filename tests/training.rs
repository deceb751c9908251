//! End-to-end training: the engine, nn layers and optimizers learn real (small) tasks.

use minmax_engine::nn::{self, Module};
use minmax_engine::optim::{Adam, Optimizer, Sgd};
use minmax_engine::{Generator, Result, Tensor};

/// Two interleaved spirals-like rings: class 0 inside radius 1, class 1 in the ring 1.3..2.
fn rings(n: usize, g: &mut Generator) -> Result<(Tensor, Tensor)> {
    let mut xs = Vec::with_capacity(2 * n);
    let mut ys = Vec::with_capacity(n);
    for i in 0..n {
        let c = (i % 2) as i64;
        let r = if c == 0 { g.uniform_range(0.0, 1.0) } else { g.uniform_range(1.3, 2.0) };
        let t = g.uniform_range(0.0, std::f64::consts::TAU);
        xs.push((r * t.cos()) as f32);
        xs.push((r * t.sin()) as f32);
        ys.push(c);
    }
    Ok((Tensor::new(xs, &[n, 2])?, Tensor::new(ys, &[n])?))
}

fn accuracy(logits: &Tensor, y: &Tensor) -> Result<f64> {
    logits.argmax(1, false)?.eq(y)?.mean_all()?.item()
}

#[test]
fn mlp_learns_two_rings_to_97_percent() -> Result<()> {
    let mut g = Generator::new(0);
    let (x, y) = rings(512, &mut g)?;
    let (xt, yt) = rings(512, &mut g)?;
    let net = nn::Sequential::new()
        .add(nn::Linear::new(2, 32, &mut g)?)
        .add(nn::tanh())
        .add(nn::Linear::new(32, 32, &mut g)?)
        .add(nn::tanh())
        .add(nn::Linear::new(32, 2, &mut g)?);
    let mut opt = Adam::new(net.parameters(), 0.01, (0.9, 0.999))?;
    let first = net.forward(&x)?.cross_entropy(&y)?.item()?;
    for _ in 0..300 {
        opt.zero_grad();
        let loss = net.forward(&x)?.cross_entropy(&y)?;
        loss.backward()?;
        opt.step()?;
    }
    let last = net.forward(&x)?.cross_entropy(&y)?.item()?;
    let acc = accuracy(&net.forward(&xt)?, &yt)?;
    println!("rings: loss {first:.3} -> {last:.3}, held-out accuracy {acc:.3}");
    assert!(acc >= 0.97, "held-out accuracy {acc}");
    Ok(())
}

#[test]
fn tiny_convnet_overfits_eight_images() -> Result<()> {
    // Eight random 1×8×8 images with labels 0..3: a conv net with batch norm, pooling and
    // dropout off must drive the training loss near zero.
    let mut g = Generator::new(1);
    let x = Tensor::randn(&[8, 1, 8, 8], &mut g);
    let y = Tensor::new(vec![0i64, 1, 2, 3, 0, 1, 2, 3], &[8])?;
    let net = nn::Sequential::new()
        .add(nn::Conv2d::new(1, 8, 3, 1, 1, true, &mut g)?) // [8, 8, 8, 8]
        .add(nn::BatchNorm2d::new(8))
        .add(nn::relu())
        .add(nn::Func::new("pool", |x| x.max_pool2d(2, &minmax_engine::Conv2dOpts::new(2, 0)))) // [8, 8, 4, 4]
        .add(nn::Conv2d::new(8, 16, 4, 2, 1, true, &mut g)?) // [8, 16, 2, 2]
        .add(nn::leaky_relu(0.2))
        .add(nn::flatten()) // [8, 64]
        .add(nn::Linear::new(64, 4, &mut g)?);
    let mut opt = Sgd::with_momentum(net.parameters(), 0.05, 0.9)?;
    let mut loss = 0.0;
    for _ in 0..150 {
        opt.zero_grad();
        let l = net.forward(&x)?.cross_entropy(&y)?;
        l.backward()?;
        opt.step()?;
        loss = l.item()?;
    }
    net.eval();
    let acc = accuracy(&net.forward(&x)?, &y)?;
    println!("convnet: final training loss {loss:.4}, eval-mode accuracy {acc}");
    assert!(loss < 0.05, "loss {loss}");
    assert_eq!(acc, 1.0);
    Ok(())
}

#[test]
fn wgan_gp_penalty_trains_a_critic_to_unit_gradient_norm() -> Result<()> {
    // Minimise (‖∇ₓ D(x)‖ − 1)² alone: it needs gradients of gradients through the critic.
    let mut g = Generator::new(2);
    let d =
        nn::Sequential::new().add(nn::Linear::new(2, 16, &mut g)?).add(nn::tanh()).add(nn::Linear::new(16, 1, &mut g)?);
    let mut opt = Adam::new(d.parameters(), 0.01, (0.5, 0.9))?;
    let x = Tensor::randn(&[64, 2], &mut g).requires_grad_();
    let penalty = |d: &nn::Sequential| -> Result<Tensor> {
        let out = d.forward(&x)?.sum_all()?;
        let gx = &minmax_engine::grad(&[out], None, &[x.clone()], true)?[0];
        gx.sqr()?.sum(&[1], false)?.add_scalar(1e-12)?.sqrt()?.add_scalar(-1.0)?.sqr()?.mean_all()
    };
    let first = penalty(&d)?.item()?;
    for _ in 0..200 {
        opt.zero_grad();
        penalty(&d)?.backward()?;
        opt.step()?;
    }
    let last = penalty(&d)?.item()?;
    println!("gradient penalty: {first:.4} -> {last:.6}");
    assert!(last < 0.01 * first.max(1e-3) + 1e-4, "penalty {first} -> {last}");
    Ok(())
}
