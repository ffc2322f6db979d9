//! The tray's names on the session bus (StatusNotifierItem, the protocol
//! of KDE, Xfce, Cinnamon, GNOME's AppIndicator extension and most
//! panels): a panel that shows tray items owns the watcher's name. The app
//! follows that name (its instance.rs) and keeps running in the tray after
//! its window closes only while a panel is there; on a desktop without one
//! a hidden window could not be found again.

pub const WATCHER: &str = "org.kde.StatusNotifierWatcher";
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";
