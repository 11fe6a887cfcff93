//! The GPU connection: instance, adapter, device and queue, shared by every output.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error(
        "no GPU adapter found: {0}\n    hint: install a Vulkan driver (on Debian: apt-get install mesa-vulkan-drivers) or set WGPU_BACKEND"
    )]
    NoAdapter(wgpu::RequestAdapterError),
    #[error("the GPU adapter refused a device: {0}")]
    NoDevice(wgpu::RequestDeviceError),
}

pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    lost: Arc<AtomicBool>,
}

impl fmt::Debug for Gpu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.adapter.get_info();
        write!(f, "Gpu({} on {:?})", info.name, info.backend)
    }
}

impl Gpu {
    /// A GPU for rendering offscreen, with no window. Honours `WGPU_BACKEND` and
    /// `WGPU_ADAPTER_NAME`, so tests can pin lavapipe (`WGPU_BACKEND=vulkan`).
    pub fn headless() -> Result<Gpu, GpuError> {
        let desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        pollster::block_on(Gpu::new(wgpu::Instance::new(desc), None))
    }

    /// A GPU from `instance` that can present to `surface`, when there is one.
    pub async fn new(
        instance: wgpu::Instance,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Gpu, GpuError> {
        let adapter = match wgpu::util::initialize_adapter_from_env(&instance, surface).await {
            Ok(adapter) => adapter,
            Err(_) => instance
                .request_adapter(&wgpu::RequestAdapterOptions {
                    power_preference: wgpu::PowerPreference::HighPerformance,
                    force_fallback_adapter: false,
                    compatible_surface: surface,
                    apply_limit_buckets: false,
                })
                .await
                .map_err(GpuError::NoAdapter)?,
        };
        // The adapter's own limits: default limits cap textures at 8192 px, too small for a
        // wall made of several 4K projectors.
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("candela"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(GpuError::NoDevice)?;
        // A GPU error must never take the wall down: log it and keep the last good frame.
        device.on_uncaptured_error(Arc::new(|e| tracing::error!("GPU error: {e}")));
        let lost = Arc::new(AtomicBool::new(false));
        let flag = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            tracing::error!("GPU device lost ({reason:?}): {message}");
            flag.store(true, Ordering::SeqCst);
        });
        Ok(Gpu {
            instance,
            adapter,
            device,
            queue,
            lost,
        })
    }

    /// True once the device is gone (driver reset, GPU unplugged): make a new [`Gpu`].
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }
}
