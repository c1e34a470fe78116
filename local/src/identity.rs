//! Local identity: the server stands in for the Cognito user pool (it signs short-lived ID
//! tokens) and for the Cognito authorizer (it verifies them as API Gateway does), and issues one
//! API key per configured client app, as the stack makes one per client.
//!
//! Tokens are HS256 JWTs under a secret made at start-up and kept in memory only. The
//! authorizer side takes the token raw or as `Bearer <token>`, as API Gateway's Cognito
//! authorizer does, and accepts exactly that algorithm: `none`, other HMAC sizes and every
//! asymmetric algorithm are refused, as are tokens with a bad signature, another issuer or
//! audience, an `exp` in the past, an `nbf` in the future, a `token_use` other than `id` or no
//! `sub`.

use std::collections::BTreeMap;
use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value, json};

/// The `iss` of local tokens (a Cognito pool's is `https://cognito-idp.REGION.amazonaws.com/POOL`).
pub const ISSUER: &str = "urn:secure-serverless-backend:local-identity";
/// The `aud` of local tokens (a Cognito ID token's is the app client id).
pub const AUDIENCE: &str = "local-client";
/// How long an ID token lives, as Cognito's default.
pub const TOKEN_LIFETIME_SECONDS: u64 = 3600;
pub const ALGORITHM: Algorithm = Algorithm::HS256;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("no randomness available for the signing key: {0}")]
    Random(String),
    #[error("the signing key is not usable: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
}

/// Why a token was refused. The client only ever sees "Unauthorized" or, for an expired
/// token, "The incoming token has expired", as from a Cognito authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    Expired,
    Invalid(String),
}

impl Rejection {
    pub fn message(&self) -> &'static str {
        match self {
            Rejection::Expired => "The incoming token has expired",
            Rejection::Missing | Rejection::Invalid(_) => "Unauthorized",
        }
    }
}

/// The signing key and the client apps' API keys. `Debug` never shows either.
pub struct Identity {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// (client app, its API key), in the stage's order of clients.
    api_keys: Vec<(String, String)>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("algorithm", &ALGORITHM)
            .field("issuer", &ISSUER)
            .finish_non_exhaustive()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], IdentityError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| IdentityError::Random(e.to_string()))?;
    Ok(buf)
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// The length of an API key, as API Gateway generates them.
pub const API_KEY_LEN: usize = 40;

/// The API key of `client` under the signing secret: 40 letters and digits, like API Gateway's,
/// from SHA-256 over a label, the client's name, a block counter and the secret (each byte below
/// 248 = 62 × 4 picks a symbol, so that every symbol is equally likely). The same secret gives
/// the same keys, so that they survive a reload of `make dev`, which keeps the secret; another
/// secret gives others, and a key reveals nothing of the secret.
pub fn derived_api_key(secret: &[u8], client: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut key = String::with_capacity(API_KEY_LEN);
    let mut counter = 0u8;
    while key.len() < API_KEY_LEN {
        let block = Sha256::new()
            .chain_update(b"secure-serverless-backend local API key\0")
            .chain_update(client.as_bytes())
            .chain_update([0, counter])
            .chain_update(secret)
            .finalize();
        for &b in block.as_slice() {
            if key.len() < API_KEY_LEN && usize::from(b) < KEY_ALPHABET.len() * 4 {
                key.push(char::from(
                    KEY_ALPHABET[usize::from(b) % KEY_ALPHABET.len()],
                ));
            }
        }
        counter = counter.wrapping_add(1);
    }
    key
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The date form API Gateway gives `exp` and `iat` in a REST API's authorizer claims,
/// e.g. `Thu Jan 02 13:00:25 UTC 2020`.
pub fn claim_date(epoch_seconds: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch_seconds).ok()?;
    let weekday = &format!("{:?}", t.weekday())[..3];
    let month = &format!("{:?}", t.month())[..3];
    Some(format!(
        "{weekday} {month} {:02} {:02}:{:02}:{:02} UTC {}",
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    ))
}

/// The claims as a REST API hands them to a Lambda proxy integration: every value a string.
pub fn claims_as_strings(claims: &Map<String, Value>) -> BTreeMap<String, String> {
    claims
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) if k == "exp" || k == "iat" => n
                    .as_i64()
                    .and_then(claim_date)
                    .unwrap_or_else(|| n.to_string()),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect()
}

impl Identity {
    /// A random signing secret, and so random keys for `clients`.
    pub fn generate<'a>(clients: impl IntoIterator<Item = &'a str>) -> Result<Self, IdentityError> {
        let secret = random_bytes::<32>()?;
        Self::from_secret(&secret, clients)
    }

    /// The signing `secret`, and an API key derived from it for each of `clients` (in order).
    pub fn from_secret<'a>(
        secret: &[u8],
        clients: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, IdentityError> {
        let mut validation = Validation::new(ALGORITHM);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 0;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            validation,
            api_keys: clients
                .into_iter()
                .map(|client| (client.to_owned(), derived_api_key(secret, client)))
                .collect(),
        })
    }

    /// (client app, its API key) for every client, first one first.
    pub fn api_keys(&self) -> &[(String, String)] {
        &self.api_keys
    }

    /// The API key of `client`, if the stage has that client.
    pub fn api_key(&self, client: &str) -> Option<&str> {
        self.api_keys
            .iter()
            .find(|(name, _)| name == client)
            .map(|(_, key)| key.as_str())
    }

    /// The client app whose key `key` is, if any.
    pub fn client_of(&self, key: &str) -> Option<&str> {
        self.api_keys
            .iter()
            .find(|(_, k)| k == key)
            .map(|(name, _)| name.as_str())
    }

    /// Signs any claims with the local key (tests use it to make tokens that are well signed
    /// but wrong in one other way).
    pub fn sign(&self, claims: &Value) -> Result<String, IdentityError> {
        Ok(jsonwebtoken::encode(
            &Header::new(ALGORITHM),
            claims,
            &self.encoding,
        )?)
    }

    /// The claims of an ID token for `sub`, shaped like a Cognito ID token's.
    pub fn id_token_claims(sub: &str, now: u64) -> Value {
        json!({
            "sub": sub,
            "cognito:username": sub,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "jti": uuid::Uuid::new_v4().to_string(),
        })
    }

    /// A fresh ID token for `sub`, valid for [`TOKEN_LIFETIME_SECONDS`].
    pub fn issue(&self, sub: &str) -> Result<String, IdentityError> {
        self.sign(&Self::id_token_claims(sub, now_seconds()))
    }

    /// Verifies a token as the Cognito authorizer does; on success the claims, as strings.
    pub fn verify(&self, token: Option<&str>) -> Result<BTreeMap<String, String>, Rejection> {
        let token = token.map(id_token).filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(Rejection::Missing);
        };
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &self.decoding, &self.validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::ExpiredSignature => Rejection::Expired,
                    _ => Rejection::Invalid(format!("{e}")),
                })?;
        let claims = data.claims;
        if claims.get("token_use").and_then(Value::as_str) != Some("id") {
            return Err(Rejection::Invalid("token_use is not id".to_owned()));
        }
        if claims
            .get("sub")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(Rejection::Invalid("no sub".to_owned()));
        }
        Ok(claims_as_strings(&claims))
    }
}

/// The ID token in an `Authorization` value: the raw token, or `Bearer <token>` with the scheme
/// in any case (RFC 7235 §2.1), as API Gateway's Cognito authorizer takes both. A `Bearer`
/// with nothing after it is no token at all.
pub fn id_token(authorization: &str) -> &str {
    let value = authorization.trim();
    let scheme_end = value.find([' ', '\t']).unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if scheme.eq_ignore_ascii_case("bearer") {
        rest.trim()
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::from_secret(&[7u8; 32], ["web", "mobile"]).expect("identity")
    }

    #[test]
    fn the_token_is_the_raw_value_or_what_follows_a_bearer_scheme_in_any_case() {
        for (value, token) in [
            ("abc.def.ghi", "abc.def.ghi"),
            ("  abc.def.ghi ", "abc.def.ghi"),
            ("Bearer abc.def.ghi", "abc.def.ghi"),
            ("bearer abc.def.ghi", "abc.def.ghi"),
            ("BEARER   abc.def.ghi", "abc.def.ghi"),
            ("Bearer\tabc.def.ghi", "abc.def.ghi"),
            ("Bearer", ""),
            ("Bearer ", ""),
            ("Basic abc.def.ghi", "Basic abc.def.ghi"),
            ("Bearerabc.def.ghi", "Bearerabc.def.ghi"),
        ] {
            assert_eq!(id_token(value), token, "{value:?}");
        }
    }

    #[test]
    fn a_bearer_token_verifies_as_the_raw_one_does() {
        let id = identity();
        let token = id.issue("alice").expect("token");
        for value in [format!("Bearer {token}"), format!("bearer {token}")] {
            assert_eq!(id.verify(Some(&value)).expect("valid")["sub"], "alice");
        }
        assert_eq!(id.verify(Some("Bearer ")), Err(Rejection::Missing));
    }

    #[test]
    fn an_issued_token_verifies_and_carries_its_sub() {
        let id = identity();
        let claims = id
            .verify(Some(&id.issue("alice").expect("token")))
            .expect("valid");
        assert_eq!(claims["sub"], "alice");
        assert_eq!(claims["token_use"], "id");
        assert!(claims["exp"].contains(" UTC "), "{}", claims["exp"]);
    }

    #[test]
    fn a_token_from_another_key_is_refused() {
        let other = Identity::from_secret(&[8u8; 32], ["web"]).expect("identity");
        let token = other.issue("alice").expect("token");
        assert!(matches!(
            identity().verify(Some(&token)),
            Err(Rejection::Invalid(_))
        ));
    }

    #[test]
    fn exp_and_iat_are_dates_as_api_gateway_renders_them() {
        assert_eq!(
            claim_date(1_577_970_025).as_deref(),
            Some("Thu Jan 02 13:00:25 UTC 2020")
        );
    }

    #[test]
    fn each_client_gets_its_own_key_derived_from_the_secret() {
        let id = identity();
        let web = id.api_key("web").expect("web").to_owned();
        let mobile = id.api_key("mobile").expect("mobile").to_owned();
        for key in [&web, &mobile] {
            assert_eq!(key.len(), API_KEY_LEN);
            assert!(key.bytes().all(|c| c.is_ascii_alphanumeric()), "{key}");
        }
        assert_ne!(web, mobile, "one key per client");
        assert_eq!(id.client_of(&web), Some("web"));
        assert_eq!(id.client_of(&mobile), Some("mobile"));
        assert_eq!(id.client_of(&web[..39]), None);
        assert_eq!(id.api_key("tv"), None);
        assert_eq!(
            id.api_keys()
                .iter()
                .map(|(c, _)| c.as_str())
                .collect::<Vec<_>>(),
            ["web", "mobile"],
            "in the stage's order"
        );
        let again = Identity::from_secret(&[7u8; 32], ["web"]).expect("identity");
        assert_eq!(
            again.api_key("web"),
            Some(web.as_str()),
            "the same secret, the same key"
        );
        let other = Identity::from_secret(&[8u8; 32], ["web"]).expect("identity");
        assert_ne!(
            other.api_key("web"),
            Some(web.as_str()),
            "another secret, another key"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let id = identity();
        let text = format!("{id:?}");
        for (_, key) in id.api_keys() {
            assert!(!text.contains(key.as_str()), "{text}");
        }
    }
}
