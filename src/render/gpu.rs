//! The GPU connection: instance, adapter, device and queue, shared by every output.

use std::fmt;

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
        pollster::block_on(Gpu::new(
            wgpu::InstanceDescriptor::new_without_display_handle_from_env(),
            None,
        ))
    }

    pub async fn new(
        desc: wgpu::InstanceDescriptor,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Gpu, GpuError> {
        let instance = wgpu::Instance::new(desc);
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
        Ok(Gpu {
            instance,
            adapter,
            device,
            queue,
        })
    }
}
