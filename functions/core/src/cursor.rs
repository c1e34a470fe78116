//! Pagination cursors: opaque to clients, bound to the caller, checked on the way in.
//!
//! A cursor holds only the last item id of a page and a tag of the owner it was issued to. The
//! Query's partition always comes from the caller's token, never from the cursor, so no cursor
//! can start a Query in someone else's partition; the owner tag makes a cursor issued to another
//! caller, or edited by hand, a clear 400 instead of a silently odd page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::{ItemId, Owner};

/// Longest cursor accepted, as the contract states.
pub const MAX_CURSOR_LEN: usize = 512;
const VERSION: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last item of the previous page; the next page starts after it.
    pub after: ItemId,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    v: u8,
    o: String,
    after: String,
}

fn owner_tag(owner: &Owner) -> String {
    let digest = Sha256::digest(owner.as_str().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Cursor {
    pub fn encode(&self, owner: &Owner) -> String {
        let wire = Wire {
            v: VERSION,
            o: owner_tag(owner),
            after: self.after.to_string(),
        };
        // Serializing three plain fields cannot fail; an empty cursor would be refused on the way
        // back in rather than accepted.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a cursor the caller sent, or `None` when it is not one this API issued to them.
    pub fn decode(raw: &str, owner: &Owner) -> Option<Self> {
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let wire: Wire = serde_json::from_slice(&bytes).ok()?;
        if wire.v != VERSION || wire.o != owner_tag(owner) {
            return None;
        }
        ItemId::parse(&wire.after).map(|after| Self { after })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(s: &str) -> Owner {
        Owner::parse(s).expect("valid owner")
    }

    #[test]
    fn a_cursor_round_trips_for_its_owner() {
        let c = Cursor {
            after: ItemId::new(),
        };
        let alice = owner("alice");
        assert_eq!(Cursor::decode(&c.encode(&alice), &alice), Some(c));
    }

    #[test]
    fn another_callers_cursor_is_rejected() {
        let c = Cursor {
            after: ItemId::new(),
        };
        assert_eq!(
            Cursor::decode(&c.encode(&owner("alice")), &owner("bob")),
            None
        );
    }

    #[test]
    fn forged_cursors_are_rejected() {
        let alice = owner("alice");
        let id = ItemId::new();
        let forge = |json: String| URL_SAFE_NO_PAD.encode(json);
        let cases = [
            (String::new(), "empty"),
            ("!!!".to_owned(), "not base64url"),
            (forge("not json".into()), "not json"),
            (
                forge(format!(
                    r#"{{"v":2,"o":"{}","after":"{id}"}}"#,
                    owner_tag(&alice)
                )),
                "future version",
            ),
            (
                forge(format!(
                    r#"{{"v":1,"o":"{}","after":"../x"}}"#,
                    owner_tag(&alice)
                )),
                "bad id",
            ),
            (
                forge(format!(
                    r#"{{"v":1,"o":"{}","after":"{id}","pk":"USER#bob"}}"#,
                    owner_tag(&alice)
                )),
                "extra field",
            ),
            ("A".repeat(MAX_CURSOR_LEN + 1), "too long"),
        ];
        for (raw, case) in cases {
            assert_eq!(Cursor::decode(&raw, &alice), None, "{case}");
        }
    }
}
