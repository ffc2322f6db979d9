//! Reads the X CLIPBOARD selection as another program on the display would
//! (a clipboard manager): which targets its owner offers, and the value of
//! one. Plain X11 requests through x11rb (already in the tree via arboard).

use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::Event;
use x11rb::protocol::xproto::{AtomEnum, ConnectionExt as _, CreateWindowAux, WindowClass};

pub struct Selection {
    conn: x11rb::rust_connection::RustConnection,
    window: u32,
}

impl Selection {
    pub fn open(display: &str) -> Selection {
        let (conn, screen) = x11rb::connect(Some(display)).unwrap();
        let root = conn.setup().roots[screen].root;
        let window = conn.generate_id().unwrap();
        conn.create_window(
            x11rb::COPY_DEPTH_FROM_PARENT,
            window,
            root,
            0,
            0,
            1,
            1,
            0,
            WindowClass::INPUT_OUTPUT,
            0,
            &CreateWindowAux::new(),
        )
        .unwrap();
        conn.flush().unwrap();
        Selection { conn, window }
    }

    fn atom(&self, name: &str) -> u32 {
        self.conn
            .intern_atom(false, name.as_bytes())
            .unwrap()
            .reply()
            .unwrap()
            .atom
    }

    fn name(&self, atom: u32) -> String {
        String::from_utf8_lossy(&self.conn.get_atom_name(atom).unwrap().reply().unwrap().name).into_owned()
    }

    /// The CLIPBOARD converted to `target`: its bytes and type, or `None`
    /// when the owner does not offer it (or nobody owns the clipboard).
    fn convert(&self, target: &str) -> Option<(Vec<u8>, u32)> {
        let (clipboard, target, property) = (self.atom("CLIPBOARD"), self.atom(target), self.atom("KW_E2E_READ"));
        self.conn
            .convert_selection(self.window, clipboard, target, property, x11rb::CURRENT_TIME)
            .unwrap();
        self.conn.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.conn.poll_for_event().unwrap() {
                Some(Event::SelectionNotify(e)) if e.requestor == self.window => {
                    if e.property == u32::from(AtomEnum::NONE) {
                        return None;
                    }
                    break;
                }
                Some(_) => {}
                None => {
                    assert!(Instant::now() < deadline, "the clipboard's owner never answered");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        let reply = self
            .conn
            .get_property(true, self.window, property, AtomEnum::ANY, 0, 1 << 20)
            .unwrap()
            .reply()
            .unwrap();
        Some((reply.value.clone(), reply.type_))
    }

    /// The names of the targets the clipboard's owner offers.
    pub fn targets(&self) -> Vec<String> {
        let Some((bytes, _)) = self.convert("TARGETS") else {
            return Vec::new();
        };
        bytes
            .chunks_exact(4)
            .map(|b| self.name(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])))
            .collect()
    }

    /// The clipboard as text in `target`.
    pub fn text(&self, target: &str) -> Option<String> {
        self.convert(target)
            .map(|(bytes, _)| String::from_utf8_lossy(&bytes).into_owned())
    }
}
