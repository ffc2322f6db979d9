//! WebKitGTK settings for a forms app that holds secrets: no GPU
//! compositing, no media, no WebGL, the smallest caches.
//!
//! Why: under WebKitGTK the web process's GPU/DMA-BUF compositing path kept
//! ~64 MB more anonymous memory resident than software painting, for lists
//! and forms that gain nothing from it (BENCHMARKS.md, issue 3). Media,
//! WebAudio and WebGL are never used by the UI, and turning them off also
//! removes attack surface. `DocumentViewer` is WebKit's cache model for a
//! single local document: no page cache, minimal memory caches.

use tauri::{Manager, Runtime};

pub fn apply<R: Runtime, M: Manager<R>>(manager: &M) {
    let Some(window) = manager.get_webview_window("main") else {
        return;
    };
    #[cfg(target_os = "linux")]
    let result = window.with_webview(|webview| {
        use webkit2gtk::{CacheModel, HardwareAccelerationPolicy, SettingsExt, WebContextExt, WebViewExt};
        let view = webview.inner();
        if let Some(settings) = WebViewExt::settings(&view) {
            settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            settings.set_enable_webgl(false);
            settings.set_enable_webaudio(false);
            settings.set_enable_media(false);
            settings.set_enable_media_stream(false);
            settings.set_enable_page_cache(false);
        }
        if let Some(context) = view.context() {
            context.set_cache_model(CacheModel::DocumentViewer);
        }
    });
    #[cfg(not(target_os = "linux"))]
    let result: tauri::Result<()> = {
        let _ = window;
        Ok(())
    };
    if let Err(e) = result {
        // Only memory and surface are at stake, never the vault: carry on.
        eprintln!("keywarden: could not tune the web view: {e}");
    }
}
