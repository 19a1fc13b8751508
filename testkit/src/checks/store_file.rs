//! The check of the `store_file` fuzz target: bytes decoded as up to
//! [`MAX_PATCHES`] patches to a valid store file, at rest or under the open
//! store, which is opened and given every read, writes, a batch and a
//! reopen ([`crate::damaged_store`]): nothing may panic out of casting-core,
//! and every error must read as the contract says.

use crate::bytes::Bytes;
use crate::damaged_store;

/// The most patches one `store_file` input makes.
pub const MAX_PATCHES: usize = 16;

/// The most bytes one fill patch writes: four pages.
pub const MAX_FILL: usize = 4 * 4096;

/// The patches `data` stands for, as `(offset, bytes)`: at most
/// [`MAX_PATCHES`], each an offset (3 bytes, little-endian, modulo `len`,
/// the length of the file), then a byte whose parity chooses between
/// literal bytes (a length byte, then that many bytes) and a fill (2 bytes
/// of length, modulo [`MAX_FILL`], plus one, then the byte to fill with).
/// Literal bytes change a field; a fill wipes a page or several.
pub fn store_file_patches(data: &[u8], len: usize) -> Vec<(usize, Vec<u8>)> {
    let mut input = Bytes::new(data);
    let mut patches = Vec::new();
    while !input.is_empty() && patches.len() < MAX_PATCHES {
        let [a, b, c] = [input.byte(), input.byte(), input.byte()];
        let offset = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
        let offset = offset % len.max(1);
        let bytes = if input.byte().is_multiple_of(2) {
            let n = usize::from(input.byte());
            input.take(n).to_vec()
        } else {
            let n = usize::from(u16::from_le_bytes([input.byte(), input.byte()]));
            vec![input.byte(); n % MAX_FILL + 1]
        };
        patches.push((offset, bytes));
    }
    patches
}

/// Runs every operation on a copy of the valid store file patched by
/// `data`. Its first byte says when the patches land: when even, on the
/// file at rest, where opening verifies every page and so refuses nearly
/// all damage; when odd, under the open store (a failing disk), so the
/// operations meet it while serving. The patches are the rest of `data`.
///
/// Nothing may panic out of casting-core, opening fails with a store
/// error if at all, and every error is one line (a damaged file's names
/// the file and says to restore it). Without patches the store must
/// answer everything: the harness starts from a good file.
pub fn check_store_file(data: &[u8]) -> damaged_store::Report {
    let (when, data) = data.split_first().unwrap_or((&0, data));
    let image = damaged_store::valid_image();
    let patches = store_file_patches(data, image.len());
    let dir = tempfile::tempdir_in(damaged_store::scratch_dir()).unwrap();
    let path = dir.path().join("casting.redb");
    std::fs::write(&path, image).unwrap();
    let damage = || {
        for (offset, bytes) in &patches {
            damaged_store::overwrite(&path, *offset, bytes);
        }
    };
    let report = if when % 2 == 1 {
        damaged_store::exercise_damaged_while_open(&path, damage)
    } else {
        damage();
        damaged_store::exercise(&path)
    };
    if patches.is_empty() {
        assert!(report.opened && report.failed == 0, "{report:?}");
    }
    report
}
