//! The trust store the functions' DynamoDB client uses in the commercial AWS partition: the five
//! Amazon Trust Services roots compiled into the binary. Checks they parse the way the SDK's
//! rustls provider parses them (a bad block would fail every cold start) and that each is the
//! root Amazon publishes, by the SHA-256 of its Subject Public Key Info.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use items_core::config::{AMAZON_TRUST_SERVICES_ROOTS, TrustedRoots};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use sha2::{Digest, Sha256};

/// SHA-256 of each root's Subject Public Key Info, as https://www.amazontrust.com/repository/
/// lists them: Amazon Root CA 1, 2, 3, 4 and Starfield Services Root Certificate Authority - G2.
const PUBLISHED_SPKI_SHA256: [&str; 5] = [
    "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2",
    "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461",
    "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9",
    "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5",
    "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92",
];

/// One DER element at the start of `der`: (tag, the whole element, its contents).
fn element(der: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = der[0];
    let (len, header) = match der[1] {
        n if n < 0x80 => (usize::from(n), 2),
        n => {
            let count = usize::from(n & 0x7f);
            let len = der[2..2 + count]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + count)
        }
    };
    (tag, &der[..header + len], &der[header..header + len])
}

/// The Subject Public Key Info of an X.509 certificate: the seventh field of `tbsCertificate`
/// counting the optional `[0]` version, or the sixth without it.
fn spki(cert: &[u8]) -> &[u8] {
    let (_, _, certificate) = element(cert);
    let (_, _, mut tbs) = element(certificate);
    let (tag, whole, _) = element(tbs);
    if tag == 0xa0 {
        tbs = &tbs[whole.len()..];
    }
    // serial, signature algorithm, issuer, validity, subject
    for _ in 0..5 {
        let (_, whole, _) = element(tbs);
        tbs = &tbs[whole.len()..];
    }
    let (tag, whole, _) = element(tbs);
    assert_eq!(tag, 0x30, "SubjectPublicKeyInfo is a SEQUENCE");
    whole
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_embedded_roots_are_the_five_amazon_publishes() {
    // Exactly as the SDK's rustls provider reads a custom trust store.
    let certs = CertificateDer::pem_slice_iter(AMAZON_TRUST_SERVICES_ROOTS.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("every block parses");
    let hashes: Vec<String> = certs
        .iter()
        .map(|c| hex(&Sha256::digest(spki(c))))
        .collect();
    assert_eq!(hashes, PUBLISHED_SPKI_SHA256);
    // The comment above each block names the same hash, so a reader of the file can check it.
    for hash in PUBLISHED_SPKI_SHA256 {
        assert!(
            AMAZON_TRUST_SERVICES_ROOTS.contains(&format!("# SPKI SHA-256: {hash}\n")),
            "{hash}"
        );
    }
}

#[test]
fn only_the_commercial_partition_pins_amazon_trust_services() {
    for region in [
        "us-east-1",
        "eu-west-1",
        "ap-southeast-7",
        "il-central-1",
        "mx-central-1",
        "ca-west-1",
    ] {
        assert_eq!(
            TrustedRoots::for_region(region),
            TrustedRoots::AmazonTrustServices,
            "{region}"
        );
    }
    for region in [
        "cn-north-1",
        "us-gov-west-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eu-isoe-west-1",
        "eusc-de-east-1",
        "us-east",
        "us-east-1-x",
        "xx-east-1",
        "",
        "us--1",
    ] {
        assert_eq!(
            TrustedRoots::for_region(region),
            TrustedRoots::Native,
            "{region}"
        );
    }
}
