//! The GPU backend: wgpu (Vulkan, Metal, DX12) running the hand-written WGSL kernels in `shaders/`.
//!
//! One [`GpuContext`] per adapter holds the device and queue and the runtime's bookkeeping:
//! - a **pipeline cache**: each (shader, entry point, override constants) compiles once;
//! - a **buffer pool**: a dropped tensor's buffer goes back to a free list keyed by its size class
//!   and the next tensor of that class reuses it (no allocation in a steady training loop);
//! - a **batch**: kernels are recorded into one command encoder, many dispatches per queue
//!   submission; the batch is submitted when it is full or when the host needs data back
//!   (`to_cpu`), so nothing is read back until the user asks for values.
//!
//! Parameters of each dispatch (sizes, strides, scalars) go into one 256-byte slot of a per-batch
//! parameter buffer, bound as `params` at binding 0 (see `shaders/prelude.wgsl`).
//!
//! Adapters are chosen by [`GpuContext::open`]: discrete GPU first, then integrated, virtual, and
//! CPU (Mesa's lavapipe); `MINMAX_ADAPTER=<part of the name>` forces one, e.g. `llvmpipe`.

mod elementwise;
mod index;
mod launch;
mod linalg;
mod optim;
mod reduce;
pub mod shaders;
mod storage;

pub use storage::GpuStorage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::{Error, Result};
use shaders::Shader;

/// Bytes reserved for one dispatch's parameters (the storage-buffer offset alignment).
const PARAM_SLOT: u64 = 256;
/// Dispatches recorded before the batch is submitted.
const BATCH_DISPATCHES: usize = 128;
/// Threads in a 1-D workgroup (matches `WG` in prelude.wgsl).
pub(crate) const WG: u32 = 256;

#[derive(Clone, PartialEq, Eq, Hash)]
struct PipelineKey {
    shader: Shader,
    entry: &'static str,
    consts: Vec<(&'static str, u64)>,
}

struct Batch {
    encoder: Option<wgpu::CommandEncoder>,
    /// Parameter words of the dispatches recorded so far, one PARAM_SLOT each.
    params: Vec<u8>,
    params_buf: Option<wgpu::Buffer>,
    dispatches: usize,
}

/// Adapter name, backend and type, as printed by tests and the benchmark.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}, {}", self.name, self.backend, self.device_type)?;
        if !self.driver.is_empty() {
            write!(f, ", {}", self.driver)?;
        }
        write!(f, ")")
    }
}

pub struct GpuContext {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub(crate) limits: wgpu::Limits,
    modules: Mutex<HashMap<Shader, wgpu::ShaderModule>>,
    pipelines: Mutex<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    pool: Mutex<HashMap<u64, Vec<wgpu::Buffer>>>,
    batch: Mutex<Batch>,
    /// Bound where a kernel declares a binding it does not use in this variant (e.g. SGD's
    /// velocity when momentum is 0).
    pub(crate) dummy: wgpu::Buffer,
    /// Errors wgpu reported outside an error scope (validation, out of memory, device lost),
    /// kept until the next read-back or synchronisation returns them as an `Err`.
    errors: Arc<Mutex<Vec<String>>>,
}

fn device_type_rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

/// All adapters wgpu can see on this machine (Vulkan, Metal or DX12).
pub fn list_adapters() -> Vec<AdapterSummary> {
    let instance = instance();
    let adapters = pollster::block_on(instance.enumerate_adapters(backends()));
    adapters.iter().map(|a| summary(&a.get_info())).collect()
}

fn backends() -> wgpu::Backends {
    wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12
}

fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends();
    wgpu::Instance::new(desc)
}

fn summary(i: &wgpu::AdapterInfo) -> AdapterSummary {
    AdapterSummary {
        name: i.name.clone(),
        backend: format!("{:?}", i.backend).to_lowercase(),
        device_type: format!("{:?}", i.device_type),
        driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
    }
}

/// How to install a GPU driver when none is found.
pub const NO_ADAPTER_HELP: &str = "no GPU adapter found (wgpu looked for Vulkan, Metal and DX12 drivers). \
     On Linux without a GPU, Mesa's CPU driver works: `apt-get install mesa-vulkan-drivers` (lavapipe)";

impl GpuContext {
    /// Open an adapter: the one whose name contains `name` (case-insensitive) if given, else the one
    /// named by `MINMAX_ADAPTER`, else the first of discrete > integrated > virtual > CPU.
    pub fn open(name: Option<&str>) -> Result<Arc<GpuContext>> {
        let wanted =
            name.map(str::to_string).or_else(|| std::env::var("MINMAX_ADAPTER").ok().filter(|s| !s.is_empty()));
        let key = wanted.clone().unwrap_or_default().to_lowercase();
        // One context per adapter choice for the whole process: every `Device::parse("gpu")` shares it.
        static OPEN: OnceLock<Mutex<HashMap<String, Arc<GpuContext>>>> = OnceLock::new();
        let open = OPEN.get_or_init(Default::default);
        let mut open = open.lock().unwrap();
        if let Some(c) = open.get(&key) {
            return Ok(c.clone());
        }
        let instance = instance();
        let mut adapters = pollster::block_on(instance.enumerate_adapters(backends()));
        if adapters.is_empty() {
            return Err(Error::msg(NO_ADAPTER_HELP));
        }
        adapters.sort_by_key(|a| device_type_rank(a.get_info().device_type));
        let adapter = match &wanted {
            Some(w) => {
                let lw = w.to_lowercase();
                let pos = adapters.iter().position(|a| a.get_info().name.to_lowercase().contains(&lw));
                match pos {
                    Some(p) => adapters.swap_remove(p),
                    None => {
                        let names: Vec<String> = adapters.iter().map(|a| summary(&a.get_info()).to_string()).collect();
                        return Err(Error::msg(format!(
                            "no GPU adapter's name contains '{w}' (from --device or MINMAX_ADAPTER); found: {}",
                            names.join("; ")
                        )));
                    }
                }
            }
            None => adapters.swap_remove(0),
        };
        let ctx = Arc::new(GpuContext::new(adapter)?);
        open.insert(key, ctx.clone());
        Ok(ctx)
    }

    fn new(adapter: wgpu::Adapter) -> Result<GpuContext> {
        let info = adapter.get_info();
        // Ask for everything the adapter offers (buffer sizes, workgroup storage), not the
        // conservative WebGPU defaults.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("minmax"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| Error::msg(format!("could not open GPU adapter {}: {e}", info.name)))?;
        // wgpu reports some errors (a kernel's validation, memory running out while it runs)
        // asynchronously. They are collected here, not raised as a panic, and the next read-back
        // or `synchronize` returns them as an error, since no result after them can be trusted.
        let errors: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.to_string());
            }
        }));
        let dummy = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("dummy"),
            size: 16,
            usage: wgpu::BufferUsages::STORAGE,
            mapped_at_creation: false,
        });
        Ok(GpuContext {
            device,
            queue,
            adapter: summary(&info),
            limits,
            modules: Mutex::new(HashMap::new()),
            pipelines: Mutex::new(HashMap::new()),
            pool: Mutex::new(HashMap::new()),
            batch: Mutex::new(Batch { encoder: None, params: Vec::new(), params_buf: None, dispatches: 0 }),
            dummy,
            errors,
        })
    }

    /// `Err` with the errors wgpu reported since the last check, if any (they are cleared).
    pub(crate) fn check_errors(&self, during: &str) -> Result<()> {
        let errs: Vec<String> = std::mem::take(&mut *self.errors.lock().unwrap());
        match errs.first() {
            None => Ok(()),
            Some(first) => Err(Error::msg(format!(
                "GPU error on {} ({during}): {first}{}; results computed on this device since the last \
                 read-back are not valid",
                self.adapter.name,
                if errs.len() > 1 { format!(" (and {} more)", errs.len() - 1) } else { String::new() }
            ))),
        }
    }

    /// Create a storage buffer of `size` bytes, returning an out-of-memory or validation error
    /// as an `Err` naming the size (instead of wgpu's asynchronous report).
    fn create_storage_buffer(&self, size: u64, mapped_at_creation: bool) -> Result<wgpu::Buffer> {
        if size > self.limits.max_buffer_size || size > self.limits.max_storage_buffer_binding_size as u64 {
            return Err(Error::msg(format!(
                "GPU tensor of {size} bytes exceeds the adapter's buffer limit of {} bytes ({})",
                self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size),
                self.adapter.name
            )));
        }
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let valid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation,
        });
        let invalid = pollster::block_on(valid.pop());
        let out_of_memory = pollster::block_on(oom.pop());
        match out_of_memory.or(invalid) {
            None => Ok(buf),
            Some(e) => Err(Error::msg(format!(
                "GPU buffer of {size} bytes could not be created on {}: {e}",
                self.adapter.name
            ))),
        }
    }

    /// The adapter's limits as requested for this device (buffer sizes, workgroups per grid
    /// dimension, shared memory per workgroup).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Workgroups a grid may have along one dimension (65,535 on every current adapter); longer
    /// 1-D launches fold into a second dimension (`grid_for_groups`).
    pub fn max_workgroups_per_dimension(&self) -> u32 {
        self.limits.max_compute_workgroups_per_dimension
    }

    // ---- buffers ---------------------------------------------------------------------------------

    /// Pool size class: the next power of two (at least 256 bytes), so a freed buffer fits many
    /// later requests and the pool holds few distinct sizes.
    fn size_class(bytes: u64) -> u64 {
        bytes.max(256).next_power_of_two()
    }

    /// A buffer of at least `bytes` bytes from the pool (contents undefined).
    pub(crate) fn alloc(&self, bytes: u64) -> Result<wgpu::Buffer> {
        let class = Self::size_class(bytes);
        if let Some(b) = self.pool.lock().unwrap().get_mut(&class).and_then(|v| v.pop()) {
            return Ok(b);
        }
        self.check_errors("allocating a buffer")?;
        self.create_storage_buffer(class, false).map_err(|e| Error::msg(format!("{e} (a tensor of {bytes} bytes)")))
    }

    /// A fresh buffer holding `data` (uploads never reuse a pooled buffer: a queued write would
    /// land before kernels still waiting in the batch that read the buffer's old contents).
    pub(crate) fn upload(&self, data: &[u8]) -> Result<wgpu::Buffer> {
        let size = Self::size_class(data.len() as u64);
        let buf = self
            .create_storage_buffer(size, true)
            .map_err(|e| Error::msg(format!("{e} (uploading a tensor of {} bytes)", data.len())))?;
        buf.slice(..data.len() as u64)
            .get_mapped_range_mut()
            .map_err(|e| Error::msg(format!("GPU upload of {} bytes failed: {e}", data.len())))?
            .copy_from_slice(data);
        buf.unmap();
        Ok(buf)
    }

    pub(crate) fn recycle(&self, buf: wgpu::Buffer) {
        // Kernels already recorded that use `buf` run before any later kernel that reuses it:
        // one queue, executed in order.
        self.pool.lock().unwrap().entry(buf.size()).or_default().push(buf);
    }

    /// Copy the first `bytes` bytes of `buf` back to the host (submits the pending batch).
    pub(crate) fn read(&self, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let size = bytes.div_ceil(4) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        {
            let mut batch = self.batch.lock().unwrap();
            let enc = self.encoder(&mut batch);
            enc.copy_buffer_to_buffer(buf, 0, &staging, 0, size);
            self.submit(&mut batch);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::msg(format!("GPU read-back failed on {}: {e}", self.adapter.name)))?;
        rx.recv()
            .map_err(|_| Error::msg("GPU read-back: the map callback never ran"))?
            .map_err(|e| Error::msg(format!("GPU read-back failed on {}: {e}", self.adapter.name)))?;
        let out = staging.slice(..).get_mapped_range().map_err(|e| Error::msg(format!("GPU read-back failed: {e}")))?
            [..bytes as usize]
            .to_vec();
        staging.unmap();
        self.check_errors("reading a result back")?;
        Ok(out)
    }

    /// Submit every recorded kernel and wait until the GPU has run them (for timings).
    pub fn synchronize(&self) -> Result<()> {
        {
            let mut batch = self.batch.lock().unwrap();
            self.submit(&mut batch);
        }
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::msg(format!("GPU wait failed on {}: {e}", self.adapter.name)))?;
        self.check_errors("synchronizing")
    }

    // ---- kernels ---------------------------------------------------------------------------------

    fn pipeline(&self, shader: Shader, entry: &'static str, consts: &[(&'static str, f64)]) -> wgpu::ComputePipeline {
        let key = PipelineKey { shader, entry, consts: consts.iter().map(|(k, v)| (*k, v.to_bits())).collect() };
        if let Some(p) = self.pipelines.lock().unwrap().get(&key) {
            return p.clone();
        }
        let mut modules = self.modules.lock().unwrap();
        let module = modules.entry(shader).or_insert_with(|| {
            self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(shader.file()),
                source: wgpu::ShaderSource::Wgsl(shader.source().into()),
            })
        });
        let p = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions { constants: consts, ..Default::default() },
            cache: None,
        });
        self.pipelines.lock().unwrap().insert(key, p.clone());
        p
    }

    fn encoder<'a>(&self, batch: &'a mut Batch) -> &'a mut wgpu::CommandEncoder {
        batch.encoder.get_or_insert_with(|| self.device.create_command_encoder(&Default::default()))
    }

    fn submit(&self, batch: &mut Batch) {
        if let Some(enc) = batch.encoder.take() {
            if let Some(pb) = batch.params_buf.take() {
                // Lands before this submission's kernels run; a fresh buffer per batch, so no
                // kernel of an earlier batch can see it.
                self.queue.write_buffer(&pb, 0, &batch.params);
            }
            self.queue.submit(Some(enc.finish()));
        }
        batch.params.clear();
        batch.dispatches = 0;
    }

    /// Record one kernel launch: `bufs` are (binding, buffer) pairs, `params` the words for
    /// binding 0, `groups` the workgroup grid.
    pub(crate) fn dispatch(
        &self,
        shader: Shader,
        entry: &'static str,
        consts: &[(&'static str, f64)],
        bufs: &[(u32, &wgpu::Buffer)],
        params: &[u32],
        groups: [u32; 3],
    ) {
        assert!(params.len() * 4 <= PARAM_SLOT as usize, "{entry}: too many params");
        if groups.contains(&0) {
            return;
        }
        let pipeline = self.pipeline(shader, entry, consts);
        let mut batch = self.batch.lock().unwrap();
        if batch.dispatches >= BATCH_DISPATCHES {
            self.submit(&mut batch);
        }
        if batch.params_buf.is_none() {
            batch.params_buf = Some(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("params"),
                size: PARAM_SLOT * BATCH_DISPATCHES as u64,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }));
        }
        let slot = batch.dispatches as u64 * PARAM_SLOT;
        batch.params.extend_from_slice(bytemuck::cast_slice(params));
        batch.params.resize((slot + PARAM_SLOT) as usize, 0);
        let pb = batch.params_buf.clone().unwrap();
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &pb,
                offset: slot,
                size: wgpu::BufferSize::new(PARAM_SLOT),
            }),
        }];
        for (b, buf) in bufs {
            entries.push(wgpu::BindGroupEntry { binding: *b, resource: buf.as_entire_binding() });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        batch.dispatches += 1;
        let enc = self.encoder(&mut batch);
        let mut pass =
            enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(entry), timestamp_writes: None });
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
    }

    /// A 2-D grid of 256-thread workgroups covering `n` threads (each grid dimension ≤ 65,535).
    pub(crate) fn grid_1d(&self, n: usize) -> [u32; 3] {
        self.grid_for_groups(n.div_ceil(WG as usize))
    }

    /// A 2-D grid of `groups` workgroups, folded so neither dimension exceeds the limit.
    pub(crate) fn grid_for_groups(&self, groups: usize) -> [u32; 3] {
        if groups == 0 {
            return [0, 0, 0];
        }
        let max = self.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        let x = groups.min(max);
        let y = groups.div_ceil(x);
        [x as u32, y as u32, 1]
    }
}

impl std::fmt::Debug for GpuContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GpuContext({})", self.adapter)
    }
}

#[cfg(test)]
mod tests;
