//! Pagination cursors: `Cursor::decode(raw, &owner)` on anything a client can send, and the
//! property that a cursor encoded for an owner decodes for that owner only.
//!
//! Input layout: byte 0 is the owner's length `n`, the next `n` bytes the owner (`sub`), the
//! next 16 bytes an item id, the rest a raw cursor.
#![no_main]

use items_core::cursor::{Cursor, MAX_CURSOR_LEN};
use items_core::domain::{ItemId, Owner};
use libfuzzer_sys::fuzz_target;

fn owner_from(bytes: &[u8]) -> Owner {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(Owner::parse)
        .or_else(|| Owner::parse("alice"))
        .expect("alice is an owner")
}

/// Someone else: a different valid owner.
fn other_than(owner: &Owner) -> Owner {
    let name = if owner.as_str() == "mallory" {
        "eve"
    } else {
        "mallory"
    };
    Owner::parse(name).expect("a valid owner")
}

fn id_from(bytes: &[u8]) -> ItemId {
    let mut b = [0u8; 16];
    for (dst, src) in b.iter_mut().zip(bytes) {
        *dst = *src;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let canonical = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    ItemId::parse(&canonical).expect("any canonical hex layout is an item id")
}

fuzz_target!(|data: &[u8]| {
    let (n, rest) = match data.split_first() {
        Some((n, rest)) => (usize::from(*n).min(rest.len()), rest),
        None => (0, data),
    };
    let (owner_bytes, rest) = rest.split_at(n);
    let owner = owner_from(owner_bytes);
    let other = other_than(&owner);
    let (id_bytes, raw_bytes) = rest.split_at(rest.len().min(16));

    // Issued cursors: back for their owner, never for another.
    let issued = Cursor {
        after: id_from(id_bytes),
    };
    let encoded = issued.encode(&owner);
    assert!(
        !encoded.is_empty() && encoded.len() <= MAX_CURSOR_LEN,
        "{encoded}"
    );
    assert!(
        encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "not URL-safe: {encoded}"
    );
    assert_eq!(Cursor::decode(&encoded, &owner), Some(issued));
    assert_eq!(
        Cursor::decode(&encoded, &other),
        None,
        "{encoded} crossed owners"
    );

    // Anything a client sends.
    let raw = String::from_utf8_lossy(raw_bytes);
    if let Some(c) = Cursor::decode(&raw, &owner) {
        assert!(raw.len() <= MAX_CURSOR_LEN);
        assert_eq!(ItemId::parse(&c.after.to_string()), Some(c.after));
        // An accepted cursor is bound to this owner: no other owner can use it.
        assert_eq!(Cursor::decode(&raw, &other), None, "{raw} crossed owners");
        assert_eq!(Cursor::decode(&c.encode(&owner), &owner), Some(c));
    }
});
