//! Whole-exchange tests of the SASL module through its public API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use xmpp_sansio::random::SeededRandom;
use xmpp_sansio::sasl::*;

const USER: &str = "user";
const PASSWORD: &str = "pencil";

fn cb(kind: ChannelBindingType, data: &[u8]) -> ChannelBinding {
    ChannelBinding::new(kind, data.to_vec())
}

fn full_tls() -> TlsInfo {
    TlsInfo::tls()
        .with_binding(cb(ChannelBindingType::TlsExporter, &[1; 32]))
        .with_binding(cb(ChannelBindingType::TlsServerEndPoint, &[2; 32]))
        .with_binding(cb(ChannelBindingType::TlsUnique, &[3; 12]))
}

fn record(hash: ScramHash, password: &str) -> ScramCredentials {
    ScramCredentials::derive(hash, password, b"fixed salt", 4096).unwrap()
}

/// The default policy with a fixed decoy key.
fn default_config() -> ServerConfig {
    ServerConfig::new(DecoyKey::new([7; DecoyKey::LEN]))
}

fn server_config() -> ServerConfig {
    let mut c = default_config();
    c.mechanisms = Mechanism::ALL.to_vec();
    c
}

fn scram_selection(m: Mechanism, choice: ChannelBindingChoice) -> Selection {
    Selection::new(m, choice)
}

/// Runs a SCRAM exchange to the end. `store` is what the host answers.
fn scram_exchange(
    selection: &Selection,
    client_password: &str,
    store: Option<ScramCredentials>,
    client_tls: &TlsInfo,
    server_tls: &TlsInfo,
) -> Result<Authenticated, Error> {
    let mut rng = SeededRandom::new(42);
    let mut client = Client::new(
        selection,
        ClientCredentials::password(USER, client_password),
        client_tls,
        &ClientConfig::default(),
        &mut rng,
    )?;
    let mut server = Server::new(
        selection.mechanism.name(),
        &server_config(),
        server_tls,
        &mut rng,
    )?;
    let first = client.initial_response()?;
    let ServerOutput::NeedCredentials(req) = server.start(Some(&first))? else {
        panic!("expected a credentials request")
    };
    assert_eq!(req.authcid(), Some(USER));
    assert_eq!(req.scram_hash(), selection.mechanism.scram_hash());
    let ServerOutput::Challenge(sf) = server.provide_credentials(store.map(Credentials::Scram))?
    else {
        panic!("expected server-first")
    };
    let cf = client.challenge(&sf)?;
    let ServerOutput::Success(ok) = server.respond(&cf)? else {
        panic!("expected success")
    };
    client.success(ok.additional_data.as_deref())?;
    Ok(ok)
}

// --- Published vectors -----------------------------------------------------

struct Vector {
    hash: ScramHash,
    client_nonce: &'static str,
    server_nonce: &'static str,
    salt: &'static str,
    client_first: &'static str,
    server_first: &'static str,
    client_final: &'static str,
    server_final: &'static str,
}

const RFC5802: Vector = Vector {
    hash: ScramHash::Sha1,
    client_nonce: "fyko+d2lbbFgONRv9qkxdawL",
    server_nonce: "3rfcNHYJY1ZVvWVs7j",
    salt: "QSXCR+Q6sek8bf92",
    client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
    server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
    client_final: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
    server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

const RFC7677: Vector = Vector {
    hash: ScramHash::Sha256,
    client_nonce: "rOprNGfwEbeRWgbNEkqO",
    server_nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
    client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
    server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
    server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

fn vector_client(v: &Vector) {
    let sel = scram_selection(v.hash.mechanism(false), ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password(USER, PASSWORD),
        &TlsInfo::plaintext(),
        &ClientConfig::default(),
        &mut SeededRandom::new(1),
    )
    .unwrap();
    client.set_nonce_for_test_vectors(v.client_nonce).unwrap();
    assert_eq!(
        client.initial_response().unwrap(),
        v.client_first.as_bytes()
    );
    assert_eq!(
        client.challenge(v.server_first.as_bytes()).unwrap(),
        v.client_final.as_bytes()
    );
    client.success(Some(v.server_final.as_bytes())).unwrap();
}

fn vector_server(v: &Vector) {
    let salt = STANDARD.decode(v.salt).unwrap();
    let rec = ScramCredentials::derive(v.hash, PASSWORD, &salt, 4096).unwrap();
    let mut server = Server::new(
        v.hash.mechanism(false).name(),
        &default_config(),
        &TlsInfo::plaintext(),
        &mut SeededRandom::new(1),
    )
    .unwrap();
    server.set_nonce_for_test_vectors(v.server_nonce).unwrap();
    let ServerOutput::NeedCredentials(req) = server.start(Some(v.client_first.as_bytes())).unwrap()
    else {
        panic!()
    };
    assert_eq!(req.authcid(), Some("user"));
    assert_eq!(req.authzid(), None);
    let ServerOutput::Challenge(sf) = server
        .provide_credentials(Some(Credentials::Scram(rec)))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(sf, v.server_first.as_bytes());
    let ServerOutput::Success(ok) = server.respond(v.client_final.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(ok.additional_data.unwrap(), v.server_final.as_bytes());
    assert_eq!(ok.authcid.as_deref(), Some("user"));
}

#[test]
fn rfc5802_example_client() {
    vector_client(&RFC5802);
}

#[test]
fn rfc5802_example_server() {
    vector_server(&RFC5802);
}

#[test]
fn rfc7677_example_client() {
    vector_client(&RFC7677);
}

#[test]
fn rfc7677_example_server() {
    vector_server(&RFC7677);
}

// --- Round trips ------------------------------------------------------------

#[test]
fn scram_sha512_round_trip() {
    let sel = scram_selection(Mechanism::ScramSha512, ChannelBindingChoice::Unsupported);
    let ok = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha512, PASSWORD)),
        &TlsInfo::plaintext(),
        &TlsInfo::plaintext(),
    )
    .unwrap();
    assert_eq!(ok.mechanism, Mechanism::ScramSha512);
    assert!(ok.additional_data.unwrap().starts_with(b"v="));
}

#[test]
fn every_scram_mechanism_and_binding_type() {
    let tls = full_tls();
    for hash in ScramHash::ALL {
        let ok = scram_exchange(
            &scram_selection(hash.mechanism(false), ChannelBindingChoice::Unsupported),
            PASSWORD,
            Some(record(hash, PASSWORD)),
            &tls,
            &TlsInfo::tls(),
        )
        .unwrap();
        assert_eq!(ok.channel_binding, None);
        for kind in ChannelBindingType::ALL {
            let sel = scram_selection(hash.mechanism(true), ChannelBindingChoice::Bound(kind));
            let ok =
                scram_exchange(&sel, PASSWORD, Some(record(hash, PASSWORD)), &tls, &tls).unwrap();
            assert_eq!(ok.mechanism, hash.mechanism(true));
            assert_eq!(ok.channel_binding, Some(kind));
        }
    }
}

#[test]
fn selection_drives_a_full_exchange() {
    let tls = TlsInfo::tls()
        .with_binding(cb(ChannelBindingType::TlsExporter, &[9; 32]))
        .with_binding(cb(ChannelBindingType::TlsServerEndPoint, &[8; 32]));
    let config = server_config();
    let offered: Vec<String> = config
        .offered_mechanisms(&tls)
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let advertised: Vec<String> = config
        .channel_binding_types(&tls)
        .iter()
        .map(|t| t.to_string())
        .collect();
    let sel = ClientConfig::default()
        .select(&offered, Some(&advertised), &tls)
        .unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha512Plus);
    assert_eq!(
        sel.channel_binding,
        ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter)
    );
    scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha512, PASSWORD)),
        &tls,
        &tls,
    )
    .unwrap();
}

#[test]
fn xep0474_downgrade_protection() {
    let tls = full_tls();
    let mut config = server_config();
    config.downgrade_protection = true;
    let offered: Vec<String> = config
        .offered_mechanisms(&tls)
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let advertised: Vec<String> = config
        .channel_binding_types(&tls)
        .iter()
        .map(|t| t.to_string())
        .collect();

    let run = |offered: &[String], advertised: &[String]| -> Result<(), Error> {
        let mut rng = SeededRandom::new(5);
        let mut sel = ClientConfig::default()
            .select(offered, Some(advertised), &tls)
            .unwrap();
        sel.mechanism = Mechanism::ScramSha256Plus;
        let mut client = Client::new(
            &sel,
            ClientCredentials::password(USER, PASSWORD),
            &tls,
            &ClientConfig::default(),
            &mut rng,
        )?;
        let mut server = Server::new(sel.mechanism.name(), &config, &tls, &mut rng)?;
        server.start(Some(&client.initial_response()?))?;
        let ServerOutput::Challenge(sf) = server.provide_credentials(Some(Credentials::Scram(
            record(ScramHash::Sha256, PASSWORD),
        )))?
        else {
            panic!()
        };
        assert!(String::from_utf8(sf.clone()).unwrap().contains(",h="));
        let cf = client.challenge(&sf)?;
        let ServerOutput::Success(ok) = server.respond(&cf)? else {
            panic!()
        };
        client.success(ok.additional_data.as_deref())
    };
    run(&offered, &advertised).unwrap();
    // An attacker removed SCRAM-SHA-512-PLUS from what the client saw.
    let stripped: Vec<String> = offered
        .iter()
        .filter(|m| *m != "SCRAM-SHA-512-PLUS")
        .cloned()
        .collect();
    assert_eq!(
        run(&stripped, &advertised),
        Err(Error::DowngradeHashMismatch)
    );
    let fewer_types = vec!["tls-unique".to_owned()];
    assert_eq!(
        run(&offered, &fewer_types).unwrap_err(),
        Error::DowngradeHashMismatch
    );
}

#[test]
fn authzid_is_escaped_and_passed_on() {
    let mut rng = SeededRandom::new(2);
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password("us,er=", PASSWORD).with_authzid("admin,x=y@example.org"),
        &TlsInfo::tls(),
        &ClientConfig::default(),
        &mut rng,
    )
    .unwrap();
    let first = client.initial_response().unwrap();
    assert!(first.starts_with(b"n,a=admin=2Cx=3Dy@example.org,n=us=2Cer=3D,r="));
    let mut server = Server::new(
        "SCRAM-SHA-256",
        &default_config(),
        &TlsInfo::tls(),
        &mut rng,
    )
    .unwrap();
    let ServerOutput::NeedCredentials(req) = server.start(Some(&first)).unwrap() else {
        panic!()
    };
    assert_eq!(req.authcid(), Some("us,er="));
    assert_eq!(req.authzid(), Some("admin,x=y@example.org"));
    let err = server.refuse(Condition::InvalidAuthzid);
    assert_eq!(err.condition(), Condition::InvalidAuthzid);
    assert_eq!(err.condition().as_str(), "invalid-authzid");
    assert!(server.respond(b"c=biws").is_err());
}

#[test]
fn saslprep_applies_to_user_and_password() {
    // U+00AD maps to nothing, U+2168 (ROMAN NUMERAL NINE) to "IX".
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let rec = record(ScramHash::Sha256, "IX");
    let mut rng = SeededRandom::new(3);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password("us\u{00AD}er", "\u{2168}"),
        &TlsInfo::tls(),
        &ClientConfig::default(),
        &mut rng,
    )
    .unwrap();
    let mut server = Server::new(
        "SCRAM-SHA-256",
        &default_config(),
        &TlsInfo::tls(),
        &mut rng,
    )
    .unwrap();
    let ServerOutput::NeedCredentials(req) = server
        .start(Some(&client.initial_response().unwrap()))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(req.authcid(), Some("user"));
    let ServerOutput::Challenge(sf) = server
        .provide_credentials(Some(Credentials::Scram(rec)))
        .unwrap()
    else {
        panic!()
    };
    let cf = client.challenge(&sf).unwrap();
    let ServerOutput::Success(ok) = server.respond(&cf).unwrap() else {
        panic!()
    };
    client.success(ok.additional_data.as_deref()).unwrap();
}

#[test]
fn salted_password_cache_is_filled_and_used() {
    let rec = record(ScramHash::Sha256, PASSWORD);
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let run = |cache: SaltedPasswordCache| -> (Result<(), Error>, SaltedPasswordCache) {
        let mut rng = SeededRandom::new(4);
        let mut client = Client::new(
            &sel,
            ClientCredentials::password(USER, PASSWORD).with_cache(cache),
            &TlsInfo::tls(),
            &ClientConfig::default(),
            &mut rng,
        )
        .unwrap();
        let mut server = Server::new(
            "SCRAM-SHA-256",
            &default_config(),
            &TlsInfo::tls(),
            &mut rng,
        )
        .unwrap();
        server
            .start(Some(&client.initial_response().unwrap()))
            .unwrap();
        let ServerOutput::Challenge(sf) = server
            .provide_credentials(Some(Credentials::Scram(rec.clone())))
            .unwrap()
        else {
            panic!()
        };
        let cf = client.challenge(&sf).unwrap();
        let r = match server.respond(&cf) {
            Ok(ServerOutput::Success(ok)) => client.success(ok.additional_data.as_deref()),
            Ok(_) => panic!(),
            Err(e) => Err(e),
        };
        (r, client.take_cache().unwrap())
    };
    let (r, cache) = run(SaltedPasswordCache::new());
    r.unwrap();
    assert_eq!(cache.len(), 1);
    assert!(
        cache
            .get(ScramHash::Sha256, rec.salt(), rec.iterations())
            .is_some()
    );
    let (r, cache) = run(cache);
    r.unwrap();
    // A poisoned entry shows the cache is consulted instead of PBKDF2.
    let mut poisoned = SaltedPasswordCache::new();
    poisoned.insert(ScramHash::Sha256, rec.salt(), rec.iterations(), &[0u8; 32]);
    let (r, _) = run(poisoned);
    assert_eq!(r, Err(Error::AuthenticationFailed));
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_verified_exchange_leaves_a_cache_without_one_handed_in() {
    let rec = record(ScramHash::Sha1, PASSWORD);
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    let mut rng = SeededRandom::new(4);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password(USER, PASSWORD),
        &TlsInfo::tls(),
        &ClientConfig::default(),
        &mut rng,
    )
    .unwrap();
    let mut server =
        Server::new("SCRAM-SHA-1", &default_config(), &TlsInfo::tls(), &mut rng).unwrap();
    server
        .start(Some(&client.initial_response().unwrap()))
        .unwrap();
    let ServerOutput::Challenge(sf) = server
        .provide_credentials(Some(Credentials::Scram(rec.clone())))
        .unwrap()
    else {
        panic!()
    };
    let cf = client.challenge(&sf).unwrap();
    let ServerOutput::Success(ok) = server.respond(&cf).unwrap() else {
        panic!()
    };
    // Nothing to take before the server proved itself.
    assert!(client.take_cache().is_none());
    client.success(ok.additional_data.as_deref()).unwrap();
    let cache = client
        .take_cache()
        .expect("a cache after a verified exchange");
    assert_eq!(cache.len(), 1);
    assert!(
        cache
            .get(ScramHash::Sha1, rec.salt(), rec.iterations())
            .is_some()
    );
}

#[test]
fn plain_with_scram_record_and_with_host_check() {
    let tls = TlsInfo::tls();
    let sel = Selection::new(Mechanism::Plain, ChannelBindingChoice::Unsupported);
    for (password, answer, expect_ok) in [
        (
            PASSWORD,
            Some(Credentials::Scram(record(ScramHash::Sha1, PASSWORD))),
            true,
        ),
        (
            "wrong",
            Some(Credentials::Scram(record(ScramHash::Sha1, PASSWORD))),
            false,
        ),
        (PASSWORD, Some(Credentials::Verified), true),
        (PASSWORD, None, false),
    ] {
        let mut rng = SeededRandom::new(6);
        let mut client = Client::new(
            &sel,
            ClientCredentials::password(USER, password).with_authzid("boss@example.org"),
            &tls,
            &ClientConfig::default(),
            &mut rng,
        )
        .unwrap();
        let msg = client.initial_response().unwrap();
        assert_eq!(
            msg,
            format!("boss@example.org\0user\0{password}").as_bytes()
        );
        let mut server = Server::new("PLAIN", &default_config(), &tls, &mut rng).unwrap();
        let ServerOutput::NeedCredentials(req) = server.start(Some(&msg)).unwrap() else {
            panic!()
        };
        assert_eq!(req.password(), Some(password));
        assert_eq!(req.authzid(), Some("boss@example.org"));
        match server.provide_credentials(answer) {
            Ok(ServerOutput::Success(ok)) => {
                assert!(expect_ok);
                assert_eq!(ok.additional_data, None);
                client.success(None).unwrap();
            }
            Err(e) => {
                assert!(!expect_ok);
                assert_eq!(e.condition(), Condition::NotAuthorized);
            }
            Ok(other) => panic!("{other:?}"),
        }
    }
}

#[test]
fn plain_needs_tls_on_both_sides() {
    let err = Server::new(
        "PLAIN",
        &default_config(),
        &TlsInfo::plaintext(),
        &mut SeededRandom::new(0),
    )
    .unwrap_err();
    assert_eq!(err.condition(), Condition::EncryptionRequired);
    let sel = Selection::new(Mechanism::Plain, ChannelBindingChoice::Unsupported);
    let err = Client::new(
        &sel,
        ClientCredentials::password(USER, PASSWORD),
        &TlsInfo::plaintext(),
        &ClientConfig::default(),
        &mut SeededRandom::new(0),
    )
    .unwrap_err();
    assert_eq!(err, Error::EncryptionRequired("PLAIN"));
    let mut config = default_config();
    config.allow_plain_without_tls = true;
    assert!(
        config
            .offered_mechanisms(&TlsInfo::plaintext())
            .contains(&Mechanism::Plain)
    );
    assert!(
        !default_config()
            .offered_mechanisms(&TlsInfo::plaintext())
            .contains(&Mechanism::Plain)
    );
}

#[test]
fn external_flow() {
    let tls = TlsInfo::tls();
    let config = server_config();
    for (authzid, verdict) in [
        (None, true),
        (Some("juliet@example.com"), true),
        (None, false),
    ] {
        let mut creds = ClientCredentials::none();
        if let Some(a) = authzid {
            creds = creds.with_authzid(a);
        }
        let sel = Selection::new(Mechanism::External, ChannelBindingChoice::Unsupported);
        let mut client = Client::new(
            &sel,
            creds,
            &tls,
            &ClientConfig::default(),
            &mut SeededRandom::new(0),
        )
        .unwrap();
        let ir = client.initial_response().unwrap();
        assert_eq!(ir, authzid.unwrap_or("").as_bytes());
        let mut server = Server::new("EXTERNAL", &config, &tls, &mut SeededRandom::new(0)).unwrap();
        let ServerOutput::NeedCredentials(req) = server.start(Some(&ir)).unwrap() else {
            panic!()
        };
        assert_eq!(req.authcid(), None);
        assert_eq!(req.authzid(), authzid);
        let answer = verdict.then_some(Credentials::Verified);
        match server.provide_credentials(answer) {
            Ok(ServerOutput::Success(ok)) => {
                assert!(verdict);
                assert_eq!(ok.authzid.as_deref(), authzid);
                client.success(None).unwrap();
            }
            Err(e) => {
                assert!(!verdict);
                assert_eq!(e.condition(), Condition::NotAuthorized);
            }
            Ok(o) => panic!("{o:?}"),
        }
    }
    // Not offered without TLS.
    assert_eq!(
        Server::new(
            "EXTERNAL",
            &config,
            &TlsInfo::plaintext(),
            &mut SeededRandom::new(0)
        )
        .unwrap_err()
        .condition(),
        Condition::EncryptionRequired
    );
}

#[test]
fn external_without_initial_response_gets_empty_challenge() {
    let tls = TlsInfo::tls();
    let mut server = Server::new(
        "EXTERNAL",
        &server_config(),
        &tls,
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let ServerOutput::Challenge(c) = server.start(None).unwrap() else {
        panic!()
    };
    assert!(c.is_empty());
    let sel = Selection::new(Mechanism::External, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::none(),
        &tls,
        &ClientConfig::default(),
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let resp = client.challenge(&c).unwrap();
    assert!(resp.is_empty());
    assert!(matches!(
        server.respond(&resp).unwrap(),
        ServerOutput::NeedCredentials(_)
    ));
}

#[test]
fn anonymous_flow() {
    let sel = Selection::new(Mechanism::Anonymous, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::none().with_trace("sirhc"),
        &TlsInfo::plaintext(),
        &ClientConfig::default(),
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let ir = client.initial_response().unwrap();
    let mut server = Server::new(
        "ANONYMOUS",
        &server_config(),
        &TlsInfo::plaintext(),
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let ServerOutput::Success(ok) = server.start(Some(&ir)).unwrap() else {
        panic!()
    };
    assert_eq!(ok.trace.as_deref(), Some("sirhc"));
    assert_eq!(ok.authcid, None);
    client.success(None).unwrap();
    assert!(server.respond(b"again").is_err());
    // Off by default.
    assert_eq!(
        Server::new(
            "ANONYMOUS",
            &default_config(),
            &TlsInfo::tls(),
            &mut SeededRandom::new(0)
        )
        .unwrap_err()
        .condition(),
        Condition::InvalidMechanism
    );
}

// --- Negative paths -----------------------------------------------------------

#[test]
fn wrong_password_fails() {
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let err = scram_exchange(
        &sel,
        "wrong",
        Some(record(ScramHash::Sha256, PASSWORD)),
        &TlsInfo::tls(),
        &TlsInfo::tls(),
    )
    .unwrap_err();
    assert_eq!(err, Error::AuthenticationFailed);
    assert_eq!(err.condition().as_str(), "not-authorized");
}

#[test]
fn unknown_user_looks_like_wrong_password() {
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    let err = scram_exchange(&sel, PASSWORD, None, &TlsInfo::tls(), &TlsInfo::tls()).unwrap_err();
    assert_eq!(err, Error::AuthenticationFailed);
}

#[test]
fn record_of_wrong_hash_is_refused() {
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    let err = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha256, PASSWORD)),
        &TlsInfo::tls(),
        &TlsInfo::tls(),
    )
    .unwrap_err();
    assert_eq!(err, Error::CredentialsMismatch);
}

/// A server that went through client-first of the RFC 5802 example and
/// sent its server-first.
fn rfc5802_server_at_final() -> Server {
    let salt = STANDARD.decode(RFC5802.salt).unwrap();
    let rec = ScramCredentials::derive(ScramHash::Sha1, PASSWORD, &salt, 4096).unwrap();
    let mut server = Server::new(
        "SCRAM-SHA-1",
        &default_config(),
        &TlsInfo::plaintext(),
        &mut SeededRandom::new(1),
    )
    .unwrap();
    server
        .set_nonce_for_test_vectors(RFC5802.server_nonce)
        .unwrap();
    server.start(Some(RFC5802.client_first.as_bytes())).unwrap();
    server
        .provide_credentials(Some(Credentials::Scram(rec)))
        .unwrap();
    server
}

#[test]
fn server_rejects_bad_client_final() {
    let n = "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
    let cases: Vec<(String, Error)> = vec![
        // Proof altered in its last character.
        (
            format!("c=biws,r={n},p=v1X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::AuthenticationFailed,
        ),
        // A nonce from another session (replay).
        (
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawLOTHERSERVERNONCE,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
                .into(),
            Error::NonceMismatch,
        ),
        (format!("c=biws,r={n}"), Error::MissingAttribute('p')),
        (
            "c=biws,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=".to_owned(),
            Error::MissingAttribute('r'),
        ),
        (
            format!("r={n},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::MissingAttribute('c'),
        ),
        (
            format!("c=b!ws,r={n},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::InvalidBase64('c'),
        ),
        (
            format!("c=biws,r={n},p=v0X8v3Bz2T0C*GbJQyF0X+HI4Ts="),
            Error::InvalidBase64('p'),
        ),
        (
            format!("c=biws,r={n},p=AAAA"),
            Error::Malformed("proof length"),
        ),
        // c= says y but the GS2 header said n.
        (
            format!("c=eSws,r={n},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::ChannelBindingMismatch,
        ),
        (
            format!("c=biws,r={n},m=ext,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::MandatoryExtension,
        ),
        (
            format!("c=biws,r={n},r={n},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::DuplicateAttribute('r'),
        ),
        (
            format!("c=biws,r={n},p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=,x=1"),
            Error::Malformed("proof is not the last attribute"),
        ),
        (
            format!("c=biws,r={n},,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="),
            Error::Malformed("attribute syntax"),
        ),
        (
            "c=biws,r=fyko+d2lbbFgON".into(),
            Error::MissingAttribute('p'),
        ),
        ("".into(), Error::Malformed("empty message")),
    ];
    for (msg, expected) in cases {
        let mut server = rfc5802_server_at_final();
        assert_eq!(
            server.respond(msg.as_bytes()).unwrap_err(),
            expected,
            "{msg}"
        );
        // The machine is finished after a failure.
        assert!(server.respond(RFC5802.client_final.as_bytes()).is_err());
    }
    let mut server = rfc5802_server_at_final();
    assert_eq!(
        server.respond(b"c=biws,r=\xff").unwrap_err(),
        Error::NotUtf8
    );
    // Unknown optional extensions are ignored (RFC 5802 §5.1), but they are
    // covered by the proof, so the published one no longer fits.
    let mut server = rfc5802_server_at_final();
    assert_eq!(
        server
            .respond(format!("c=biws,r={n},x=1,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=").as_bytes())
            .unwrap_err(),
        Error::AuthenticationFailed
    );
}

#[test]
fn server_rejects_bad_client_first() {
    let tls = full_tls();
    let cases: &[(&str, &str, Error)] = &[
        ("SCRAM-SHA-1", "n,,n=,r=abc", Error::EmptyUsername),
        (
            "SCRAM-SHA-1",
            "n,,n=u=2,r=abc",
            Error::Malformed("invalid escape in name"),
        ),
        (
            "SCRAM-SHA-1",
            "n,,n=u=2x,r=abc",
            Error::Malformed("invalid escape in name"),
        ),
        ("SCRAM-SHA-1", "n,,n=user", Error::MissingAttribute('r')),
        ("SCRAM-SHA-1", "n,,r=abc", Error::MissingAttribute('n')),
        (
            "SCRAM-SHA-1",
            "n,,n=a,n=b,r=abc",
            Error::DuplicateAttribute('n'),
        ),
        (
            "SCRAM-SHA-1",
            "n,,m=x,n=user,r=abc",
            Error::MandatoryExtension,
        ),
        (
            "SCRAM-SHA-1",
            "n,,n=user,r=abc,m=x",
            Error::MandatoryExtension,
        ),
        (
            "SCRAM-SHA-1",
            "n,,n=user,r=",
            Error::Malformed("client nonce"),
        ),
        (
            "SCRAM-SHA-1",
            "n,n=user,r=abc",
            Error::Malformed("authzid syntax"),
        ),
        ("SCRAM-SHA-1", "n,,", Error::Malformed("attribute syntax")),
        ("SCRAM-SHA-1", "n", Error::Malformed("truncated GS2 header")),
        (
            "SCRAM-SHA-1",
            "n,",
            Error::Malformed("truncated GS2 header"),
        ),
        (
            "SCRAM-SHA-1",
            "x,,n=user,r=abc",
            Error::Malformed("channel binding flag"),
        ),
        (
            "SCRAM-SHA-1",
            "n,,n=us\u{7}er,r=abc",
            Error::Saslprep("prohibited character"),
        ),
        // p= with a mechanism without -PLUS.
        (
            "SCRAM-SHA-1",
            "p=tls-unique,,n=user,r=abc",
            Error::ChannelBindingFlag,
        ),
        // -PLUS without p=.
        (
            "SCRAM-SHA-1-PLUS",
            "n,,n=user,r=abc",
            Error::ChannelBindingFlag,
        ),
        (
            "SCRAM-SHA-1-PLUS",
            "y,,n=user,r=abc",
            Error::ChannelBindingFlag,
        ),
        // Downgrade: the client claims the server offers no -PLUS.
        ("SCRAM-SHA-1", "y,,n=user,r=abc", Error::Downgrade),
        (
            "SCRAM-SHA-1-PLUS",
            "p=tls-bogus,,n=user,r=abc",
            Error::UnsupportedChannelBinding("tls-bogus".into()),
        ),
    ];
    for (mech, msg, expected) in cases {
        let mut server =
            Server::new(mech, &server_config(), &tls, &mut SeededRandom::new(0)).unwrap();
        assert_eq!(
            &server.start(Some(msg.as_bytes())).unwrap_err(),
            expected,
            "{mech} {msg}"
        );
    }
    // Over the size limit.
    let mut server = Server::new(
        "SCRAM-SHA-1",
        &server_config(),
        &tls,
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let long = format!("n,,n={},r=abc", "a".repeat(5000));
    assert!(matches!(
        server.start(Some(long.as_bytes())),
        Err(Error::TooLong { .. })
    ));
    // y is fine when the server offers no -PLUS (no binding data).
    let mut server = Server::new(
        "SCRAM-SHA-1",
        &server_config(),
        &TlsInfo::tls(),
        &mut SeededRandom::new(0),
    )
    .unwrap();
    assert!(server.start(Some(b"y,,n=user,r=abc")).is_ok());
}

#[test]
fn server_accepts_only_the_binding_types_it_has() {
    // The server has only tls-server-end-point data; a client binding with
    // tls-unique must fail even though the name is valid.
    let server_tls =
        TlsInfo::tls().with_binding(cb(ChannelBindingType::TlsServerEndPoint, &[2; 32]));
    let sel = scram_selection(
        Mechanism::ScramSha256Plus,
        ChannelBindingChoice::Bound(ChannelBindingType::TlsUnique),
    );
    let err = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha256, PASSWORD)),
        &full_tls(),
        &server_tls,
    )
    .unwrap_err();
    assert_eq!(err, Error::UnsupportedChannelBinding("tls-unique".into()));
    assert_eq!(
        server_config().channel_binding_types(&server_tls),
        vec![ChannelBindingType::TlsServerEndPoint]
    );
}

#[test]
fn channel_binding_data_mismatch_fails() {
    // Different exporter values on both ends: a man in the middle.
    let client_tls = TlsInfo::tls().with_binding(cb(ChannelBindingType::TlsExporter, &[1; 32]));
    let server_tls = TlsInfo::tls().with_binding(cb(ChannelBindingType::TlsExporter, &[7; 32]));
    let sel = scram_selection(
        Mechanism::ScramSha1Plus,
        ChannelBindingChoice::Bound(ChannelBindingType::TlsExporter),
    );
    let err = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha1, PASSWORD)),
        &client_tls,
        &server_tls,
    )
    .unwrap_err();
    assert_eq!(err, Error::ChannelBindingMismatch);
}

#[test]
fn downgrade_through_stripped_plus_is_detected() {
    // The attacker stripped -PLUS from the offer; the client sees no -PLUS,
    // picks SCRAM-SHA-256 with flag y, and the real server refuses.
    let tls = full_tls();
    let offered = ["SCRAM-SHA-1", "SCRAM-SHA-256", "PLAIN"];
    let sel = ClientConfig::default()
        .select(&offered, None::<&[&str]>, &tls)
        .unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha256);
    assert_eq!(sel.channel_binding, ChannelBindingChoice::NotOffered);
    let err = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha256, PASSWORD)),
        &tls,
        &tls,
    )
    .unwrap_err();
    assert_eq!(err, Error::Downgrade);
    assert_eq!(err.condition(), Condition::NotAuthorized);
}

/// A client that sent the RFC 5802 client-first.
fn rfc5802_client() -> Client {
    rfc5802_client_with(&ClientConfig::default())
}

fn rfc5802_client_with(config: &ClientConfig) -> Client {
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password(USER, PASSWORD),
        &TlsInfo::plaintext(),
        config,
        &mut SeededRandom::new(1),
    )
    .unwrap();
    client
        .set_nonce_for_test_vectors(RFC5802.client_nonce)
        .unwrap();
    client.initial_response().unwrap();
    client
}

#[test]
fn client_rejects_bad_server_first() {
    let c = RFC5802.client_nonce;
    let cases: Vec<(String, Error)> = vec![
        (
            format!("r={c},s=QSXCR+Q6sek8bf92,i=4096"),
            Error::NonceMismatch,
        ),
        (
            "r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096".into(),
            Error::NonceMismatch,
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf9*,i=4096"),
            Error::InvalidBase64('s'),
        ),
        (format!("r={c}x,s=,i=4096"), Error::Malformed("empty salt")),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=4095"),
            Error::IterationCountTooLow {
                got: 4095,
                min: 4096,
            },
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=0"),
            Error::Malformed("iteration count"),
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=-1"),
            Error::Malformed("iteration count"),
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=04096"),
            Error::Malformed("iteration count"),
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=4000000000"),
            Error::IterationCountTooHigh {
                got: 4_000_000_000,
                max: 1_000_000,
            },
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=99999999999"),
            Error::Malformed("iteration count"),
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92"),
            Error::MissingAttribute('i'),
        ),
        (format!("r={c}x,i=4096"), Error::MissingAttribute('s')),
        (
            format!("m=1,r={c}x,s=QSXCR+Q6sek8bf92,i=4096"),
            Error::MandatoryExtension,
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=4096,s=AAAA"),
            Error::DuplicateAttribute('s'),
        ),
        (
            format!("r={c}x,s=QSXCR+Q6sek8bf92,i=4096,"),
            Error::Malformed("attribute syntax"),
        ),
        ("e=other-error".into(), Error::MissingAttribute('r')),
    ];
    for (msg, expected) in cases {
        let mut client = rfc5802_client();
        assert_eq!(
            client.challenge(msg.as_bytes()).unwrap_err(),
            expected,
            "{msg}"
        );
    }
    let mut config = ClientConfig::default();
    config.min_iterations = 8192;
    let mut client = rfc5802_client_with(&config);
    assert_eq!(
        client
            .challenge(RFC5802.server_first.as_bytes())
            .unwrap_err(),
        Error::IterationCountTooLow {
            got: 4096,
            min: 8192
        }
    );
    config.min_iterations = 1;
    config.max_iterations = 2048;
    let mut client = rfc5802_client_with(&config);
    assert!(matches!(
        client.challenge(RFC5802.server_first.as_bytes()),
        Err(Error::IterationCountTooHigh {
            got: 4096,
            max: 2048
        })
    ));
}

#[test]
fn client_requires_valid_server_signature() {
    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client
            .success(Some(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ"))
            .unwrap_err(),
        Error::InvalidBase64('v')
    );

    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client
            .success(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="))
            .unwrap_err(),
        Error::ServerSignatureMismatch
    );

    // Success without additional data: the server proved nothing.
    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client.success(None).unwrap_err(),
        Error::ServerSignatureMismatch
    );

    // Success before server-first.
    let mut client = rfc5802_client();
    assert_eq!(
        client.success(None).unwrap_err(),
        Error::ServerSignatureMismatch
    );

    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client.success(Some(b"e=invalid-proof")).unwrap_err(),
        Error::ServerError("invalid-proof".into())
    );

    // Server-final sent as a challenge, then an empty success.
    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client.challenge(RFC5802.server_final.as_bytes()).unwrap(),
        b""
    );
    client.success(None).unwrap();
}

#[test]
fn client_rejects_misconfiguration() {
    let tls = TlsInfo::tls();
    let cfg = ClientConfig::default();
    let mut rng = SeededRandom::new(0);
    let plus = scram_selection(
        Mechanism::ScramSha1Plus,
        ChannelBindingChoice::Bound(ChannelBindingType::TlsUnique),
    );
    assert_eq!(
        Client::new(
            &plus,
            ClientCredentials::password(USER, PASSWORD),
            &tls,
            &cfg,
            &mut rng
        )
        .unwrap_err(),
        Error::UnsupportedChannelBinding("tls-unique".into())
    );
    let plus_n = scram_selection(Mechanism::ScramSha1Plus, ChannelBindingChoice::Unsupported);
    assert_eq!(
        Client::new(
            &plus_n,
            ClientCredentials::password(USER, PASSWORD),
            &tls,
            &cfg,
            &mut rng
        )
        .unwrap_err(),
        Error::ChannelBindingFlag
    );
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    assert_eq!(
        Client::new(
            &sel,
            ClientCredentials::password("", PASSWORD),
            &tls,
            &cfg,
            &mut rng
        )
        .unwrap_err(),
        Error::EmptyUsername
    );
    assert_eq!(
        Client::new(
            &sel,
            ClientCredentials::password(USER, ""),
            &tls,
            &cfg,
            &mut rng
        )
        .unwrap_err(),
        Error::EmptyPassword
    );
    assert_eq!(
        Client::new(&sel, ClientCredentials::none(), &tls, &cfg, &mut rng).unwrap_err(),
        Error::EmptyUsername
    );
}

#[test]
fn server_misuse_is_an_error() {
    let tls = TlsInfo::tls();
    let mut rng = SeededRandom::new(0);
    assert_eq!(
        Server::new("DIGEST-MD5", &default_config(), &tls, &mut rng).unwrap_err(),
        Error::InvalidMechanism("DIGEST-MD5".into())
    );
    assert_eq!(
        Server::new("SCRAM-SHA-1-PLUS", &default_config(), &tls, &mut rng)
            .unwrap_err()
            .condition(),
        Condition::InvalidMechanism
    );
    let mut server = Server::new("SCRAM-SHA-1", &default_config(), &tls, &mut rng).unwrap();
    assert!(server.respond(b"n,,n=user,r=abc").is_err());
    let mut server = Server::new("SCRAM-SHA-1", &default_config(), &tls, &mut rng).unwrap();
    server.start(Some(b"n,,n=user,r=abc")).unwrap();
    assert!(server.needs_credentials());
    // Feeding data while credentials are awaited is an error.
    assert!(server.respond(b"c=biws,r=abc,p=AAAA").is_err());
    assert!(server.provide_credentials(None).is_err());
    let mut server = Server::new("SCRAM-SHA-1", &default_config(), &tls, &mut rng).unwrap();
    server.start(Some(b"n,,n=user,r=abc")).unwrap();
    assert_eq!(
        server
            .provide_credentials(Some(Credentials::Verified))
            .unwrap_err(),
        Error::CredentialsMismatch
    );
    let mut server = Server::new("SCRAM-SHA-1", &default_config(), &tls, &mut rng).unwrap();
    assert_eq!(server.abort().condition(), Condition::Aborted);
    assert!(server.start(Some(b"n,,n=user,r=abc")).is_err());
}

#[test]
fn nonces_come_from_the_injected_random() {
    // Same seed, same messages; different seed, different nonce.
    let first = |seed| {
        let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
        let mut c = Client::new(
            &sel,
            ClientCredentials::password(USER, PASSWORD),
            &TlsInfo::tls(),
            &ClientConfig::default(),
            &mut SeededRandom::new(seed),
        )
        .unwrap();
        c.initial_response().unwrap()
    };
    assert_eq!(first(1), first(1));
    assert_ne!(first(1), first(2));
    let nonce_len = first(1).len() - b"n,,n=user,r=".len();
    assert!(nonce_len >= 24, "{nonce_len}");
}

// --- XEP-0440 / XEP-0474 business rules ---------------------------------------

/// A server whose TLS layer only gives `tls-unique`, and a client whose TLS
/// layer only gives `tls-exporter`: they share no binding type.
fn mismatched_binding_setup(downgrade_protection: bool) -> (ServerConfig, TlsInfo, TlsInfo) {
    let mut config = default_config();
    config.mechanisms = vec![Mechanism::ScramSha256Plus, Mechanism::ScramSha256];
    config.downgrade_protection = downgrade_protection;
    let server_tls = TlsInfo::tls().with_binding(cb(ChannelBindingType::TlsUnique, &[3; 12]));
    let client_tls = TlsInfo::tls().with_binding(cb(ChannelBindingType::TlsExporter, &[1; 32]));
    (config, server_tls, client_tls)
}

/// Runs a SCRAM exchange from a client selection against a server that
/// advertised `advertised`.
fn run_selected(
    sel: &Selection,
    client_config: &ClientConfig,
    client_tls: &TlsInfo,
    server_config: &ServerConfig,
    server_tls: &TlsInfo,
    advertised: &Advertisement,
) -> Result<Authenticated, Error> {
    let mut rng = SeededRandom::new(11);
    let mut client = Client::new(
        sel,
        ClientCredentials::password(USER, PASSWORD),
        client_tls,
        client_config,
        &mut rng,
    )?;
    let mut server = Server::with_advertisement(
        sel.mechanism.name(),
        server_config,
        server_tls,
        advertised,
        &mut rng,
    )?;
    server.start(Some(&client.initial_response()?))?;
    let hash = sel.mechanism.scram_hash().unwrap();
    let ServerOutput::Challenge(sf) =
        server.provide_credentials(Some(Credentials::Scram(record(hash, PASSWORD))))?
    else {
        panic!("expected server-first")
    };
    let cf = client.challenge(&sf)?;
    let ServerOutput::Success(ok) = server.respond(&cf)? else {
        panic!("expected success")
    };
    client.success(ok.additional_data.as_deref())?;
    Ok(ok)
}

#[test]
fn no_common_binding_type_aborts_per_xep0440_rule_6() {
    let (config, server_tls, client_tls) = mismatched_binding_setup(false);
    let ad = config.advertisement(&server_tls);
    assert_eq!(ad.channel_bindings, Some(vec!["tls-unique".to_owned()]));
    let err = ClientConfig::default()
        .select(&ad.mechanisms, ad.channel_bindings.as_deref(), &client_tls)
        .unwrap_err();
    assert_eq!(err, SelectError::ChannelBindingDowngrade);
    // The same when a man in the middle rewrote a list the client could
    // have used.
    let err = ClientConfig::default()
        .select(&ad.mechanisms, Some(&["tls-bogus"]), &full_tls())
        .unwrap_err();
    assert_eq!(err, SelectError::ChannelBindingDowngrade);
}

#[test]
fn xep0474_lets_the_client_go_on_and_checks_the_hash() {
    let mut client_config = ClientConfig::default();
    client_config.rely_on_downgrade_protection = true;
    let (config, server_tls, client_tls) = mismatched_binding_setup(true);
    let ad = config.advertisement(&server_tls);
    let sel = client_config
        .select(&ad.mechanisms, ad.channel_bindings.as_deref(), &client_tls)
        .unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha256);
    assert_eq!(sel.channel_binding, ChannelBindingChoice::Unsupported);
    assert!(sel.downgrade_hash_required);
    // A server that sends a matching h=: the lists were genuine.
    run_selected(&sel, &client_config, &client_tls, &config, &server_tls, &ad).unwrap();

    // A server without XEP-0474: the client cannot rule out a downgrade.
    let (config, server_tls, client_tls) = mismatched_binding_setup(false);
    assert_eq!(
        run_selected(&sel, &client_config, &client_tls, &config, &server_tls, &ad).unwrap_err(),
        Error::DowngradeHashMissing
    );

    // A man in the middle replaced the server's tls-exporter with a type
    // the client lacks: the hash gives it away.
    let (config, _, client_tls) = mismatched_binding_setup(true);
    let server_tls = client_tls.clone();
    let real = config.advertisement(&server_tls);
    assert_eq!(real.channel_bindings, Some(vec!["tls-exporter".to_owned()]));
    let sel = client_config
        .select(&real.mechanisms, Some(&["tls-unique"]), &client_tls)
        .unwrap();
    assert!(sel.downgrade_hash_required);
    assert_eq!(
        run_selected(
            &sel,
            &client_config,
            &client_tls,
            &config,
            &server_tls,
            &real
        )
        .unwrap_err(),
        Error::DowngradeHashMismatch
    );
}

#[test]
fn server_hashes_the_list_the_host_advertised() {
    let tls = full_tls();
    let mut config = server_config();
    config.downgrade_protection = true;
    // The host advertises less than the configuration allows.
    let ad = Advertisement::new(
        &["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"],
        Some(&["tls-exporter"]),
    );
    let sel = ClientConfig::default()
        .select(&ad.mechanisms, ad.channel_bindings.as_deref(), &tls)
        .unwrap();
    assert_eq!(sel.mechanism, Mechanism::ScramSha256Plus);
    let ok = run_selected(&sel, &ClientConfig::default(), &tls, &config, &tls, &ad).unwrap();
    assert_eq!(ok.channel_binding, Some(ChannelBindingType::TlsExporter));
    // Hashing the configured list instead fails the client.
    let default_ad = config.advertisement(&tls);
    assert_ne!(default_ad, ad);
    assert_eq!(
        run_selected(
            &sel,
            &ClientConfig::default(),
            &tls,
            &config,
            &tls,
            &default_ad
        )
        .unwrap_err(),
        Error::DowngradeHashMismatch
    );
    // A mechanism the host did not advertise is refused.
    assert_eq!(
        Server::with_advertisement("SCRAM-SHA-1", &config, &tls, &ad, &mut SeededRandom::new(0))
            .unwrap_err()
            .condition(),
        Condition::InvalidMechanism
    );
}

#[test]
fn select_says_why_nothing_fits() {
    let cfg = ClientConfig::default();
    assert_eq!(
        cfg.select(&["PLAIN"], None::<&[&str]>, &TlsInfo::plaintext()),
        Err(SelectError::PlainWithoutTls)
    );
    assert_eq!(
        cfg.select(&["DIGEST-MD5"], None::<&[&str]>, &TlsInfo::tls()),
        Err(SelectError::NothingUsable)
    );
    assert_eq!(
        cfg.select(&["SCRAM-SHA-1-PLUS"], None::<&[&str]>, &TlsInfo::tls()),
        Err(SelectError::NoChannelBindingData)
    );
    assert_eq!(
        cfg.select(&["SCRAM-SHA-256"], Some(&["tls-exporter"]), &full_tls()),
        Err(SelectError::PlusMechanismsStripped)
    );
    // Owned names for the offer, borrowed ones for the types.
    let offered = vec!["SCRAM-SHA-256-PLUS".to_owned()];
    let sel = cfg
        .select(&offered, Some(&["tls-server-end-point"]), &full_tls())
        .unwrap();
    assert_eq!(
        sel.channel_binding,
        ChannelBindingChoice::Bound(ChannelBindingType::TlsServerEndPoint)
    );
}

// --- Unknown users --------------------------------------------------------------

/// The salt a SCRAM server shows in server-first for `user`, unknown.
fn unknown_user_salt(config: &ServerConfig, mechanism: &str, user: &str, seed: u64) -> String {
    let mut server = Server::new(
        mechanism,
        config,
        &TlsInfo::tls(),
        &mut SeededRandom::new(seed),
    )
    .unwrap();
    server
        .start(Some(format!("n,,n={user},r=abcdef").as_bytes()))
        .unwrap();
    let ServerOutput::Challenge(sf) = server.provide_credentials(None).unwrap() else {
        panic!()
    };
    let sf = String::from_utf8(sf).unwrap();
    sf.split(',')
        .find_map(|a| a.strip_prefix("s="))
        .unwrap()
        .to_owned()
}

#[test]
fn decoy_salt_is_stable_per_user() {
    let config = default_config();
    let a1 = unknown_user_salt(&config, "SCRAM-SHA-256", "ghost", 1);
    let a2 = unknown_user_salt(&config, "SCRAM-SHA-256", "ghost", 2);
    let b = unknown_user_salt(&config, "SCRAM-SHA-256", "phantom", 1);
    let a_sha1 = unknown_user_salt(&config, "SCRAM-SHA-1", "ghost", 1);
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
    assert_ne!(a1, a_sha1);
    assert_eq!(STANDARD.decode(&a1).unwrap().len(), 16);
    // A host that stores the key gets the same salts after a restart.
    let key = DecoyKey::generate(&mut SeededRandom::new(9));
    let stored = *key.as_bytes();
    let before = ServerConfig::new(key);
    let after = ServerConfig::new(DecoyKey::new(stored));
    assert_eq!(
        unknown_user_salt(&before, "SCRAM-SHA-512", "ghost", 1),
        unknown_user_salt(&after, "SCRAM-SHA-512", "ghost", 5)
    );
    assert_ne!(
        unknown_user_salt(&before, "SCRAM-SHA-512", "ghost", 1),
        unknown_user_salt(
            &ServerConfig::new(DecoyKey::generate(&mut SeededRandom::new(10))),
            "SCRAM-SHA-512",
            "ghost",
            1
        )
    );
    assert!(format!("{before:?}").contains("DecoyKey(..)"));
}

/// `user`'s SHA-256 record with the configured iteration count.
fn plain_record(config: &ServerConfig) -> ScramCredentials {
    ScramCredentials::derive(
        ScramHash::Sha256,
        PASSWORD,
        b"fixed salt",
        config.iterations,
    )
    .unwrap()
}

fn plain_login(
    config: &ServerConfig,
    msg: &[u8],
    record: Option<ScramCredentials>,
) -> Result<ServerOutput, Error> {
    let mut server = Server::new("PLAIN", config, &TlsInfo::tls(), &mut SeededRandom::new(0))?;
    let ServerOutput::NeedCredentials(_) = server.start(Some(msg))? else {
        panic!()
    };
    server.provide_credentials(record.map(Credentials::Scram))
}

#[test]
fn plain_unknown_user_runs_the_same_checks() {
    let config = default_config();
    // A password SASLprep prohibits fails alike for known and unknown
    // users: both run it through the same preparation and PBKDF2.
    let bad = b"\0user\0pen\x07cil";
    let known = plain_login(&config, bad, Some(plain_record(&config))).unwrap_err();
    let unknown = plain_login(&config, bad, None).unwrap_err();
    assert_eq!(known, unknown);
    assert_eq!(
        plain_login(&config, b"\0ghost\0pencil", None).unwrap_err(),
        Error::AuthenticationFailed
    );
}

// --- Conditions and authorization -------------------------------------------------

#[test]
fn authzid_is_checked_after_success() {
    let tls = TlsInfo::tls();
    let mut rng = SeededRandom::new(3);
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let mut client = Client::new(
        &sel,
        ClientCredentials::password(USER, PASSWORD).with_authzid("admin@example.com"),
        &tls,
        &ClientConfig::default(),
        &mut rng,
    )
    .unwrap();
    let mut server = Server::new("SCRAM-SHA-256", &server_config(), &tls, &mut rng).unwrap();
    server
        .start(Some(&client.initial_response().unwrap()))
        .unwrap();
    let ServerOutput::Challenge(sf) = server
        .provide_credentials(Some(Credentials::Scram(record(
            ScramHash::Sha256,
            PASSWORD,
        ))))
        .unwrap()
    else {
        panic!()
    };
    let cf = client.challenge(&sf).unwrap();
    let ServerOutput::Success(ok) = server.respond(&cf).unwrap() else {
        panic!()
    };
    assert_eq!(ok.authzid.as_deref(), Some("admin@example.com"));
    // The host may not let `user` act as admin: it refuses instead of
    // sending <success/>.
    let err = server.refuse(Condition::InvalidAuthzid);
    assert_eq!(err.condition(), Condition::InvalidAuthzid);
    assert_eq!(err.condition().as_str(), "invalid-authzid");
    assert!(server.respond(b"c=biws").is_err());
    assert!(server.provide_credentials(None).is_err());
}

#[test]
fn malformed_authzid_is_invalid_authzid() {
    for first in [
        &b"n,a=adm=2cin,n=user,r=abc"[..],
        b"n,a==,n=user,r=abc",
        b"n,a=,n=user,r=abc",
    ] {
        let mut server = Server::new(
            "SCRAM-SHA-1",
            &default_config(),
            &TlsInfo::tls(),
            &mut SeededRandom::new(0),
        )
        .unwrap();
        let err = server.start(Some(first)).unwrap_err();
        assert_eq!(err.condition(), Condition::InvalidAuthzid, "{err:?}");
    }
}

#[test]
fn wrong_record_type_is_a_temporary_failure() {
    let sel = scram_selection(Mechanism::ScramSha1, ChannelBindingChoice::Unsupported);
    let err = scram_exchange(
        &sel,
        PASSWORD,
        Some(record(ScramHash::Sha256, PASSWORD)),
        &TlsInfo::tls(),
        &TlsInfo::tls(),
    )
    .unwrap_err();
    assert_eq!(err.condition(), Condition::TemporaryAuthFailure);
}

#[test]
fn empty_initial_response_is_malformed() {
    for mechanism in ["SCRAM-SHA-256", "PLAIN"] {
        let mut server = Server::new(
            mechanism,
            &default_config(),
            &TlsInfo::tls(),
            &mut SeededRandom::new(0),
        )
        .unwrap();
        let err = server.start(Some(b"")).unwrap_err();
        assert_eq!(err.condition(), Condition::MalformedRequest, "{mechanism}");
        assert!(server.respond(b"n,,n=user,r=abc").is_err());
    }
}

#[test]
fn plus_over_plaintext_needs_encryption() {
    let err = Server::new(
        "SCRAM-SHA-256-PLUS",
        &default_config(),
        &TlsInfo::plaintext(),
        &mut SeededRandom::new(0),
    )
    .unwrap_err();
    assert_eq!(err.condition(), Condition::EncryptionRequired);
}

// --- PLAIN and ANONYMOUS strings ----------------------------------------------------

#[test]
fn plain_password_is_a_query_string() {
    // U+0221 is unassigned in Unicode 3.2: allowed in a presented password,
    // where it simply does not match.
    let config = default_config();
    let msg = "\0user\0pen\u{0221}cil".as_bytes();
    assert_eq!(
        plain_login(&config, msg, Some(plain_record(&config))).unwrap_err(),
        Error::AuthenticationFailed
    );
    let mut server =
        Server::new("PLAIN", &config, &TlsInfo::tls(), &mut SeededRandom::new(0)).unwrap();
    let ServerOutput::NeedCredentials(req) = server.start(Some(msg)).unwrap() else {
        panic!()
    };
    assert_eq!(req.password(), Some("pen\u{0221}cil"));
    assert!(matches!(
        server.provide_credentials(Some(Credentials::Verified)),
        Ok(ServerOutput::Success(_))
    ));
}

#[test]
fn anonymous_trace_profile() {
    let mut server = Server::new(
        "ANONYMOUS",
        &server_config(),
        &TlsInfo::tls(),
        &mut SeededRandom::new(0),
    )
    .unwrap();
    let err = server.start(Some("\u{202E}evil".as_bytes())).unwrap_err();
    assert_eq!(err.condition(), Condition::MalformedRequest);
    for (trace, ok) in [
        ("\u{200F}x", false),           // C.8: right-to-left mark
        ("x\u{206F}", false),           // C.8: deprecated format character
        ("x\u{FEFF}", false),           // C.2.2: zero width no-break space
        ("\u{05D0}abc\u{05D1}", false), // RandALCat mixed with LCat
        ("\u{05D0}1", false),           // RandALCat not at the end
        ("\u{05D0}\u{05D1}", true),
        ("\u{E0041}", false), // C.9: tag character
        ("\u{F8FF}", false),  // C.3: private use
        ("sirhc@example.com", true),
    ] {
        let mut server = Server::new(
            "ANONYMOUS",
            &server_config(),
            &TlsInfo::tls(),
            &mut SeededRandom::new(0),
        )
        .unwrap();
        assert_eq!(
            server.start(Some(trace.as_bytes())).is_ok(),
            ok,
            "{trace:?}"
        );
        let sel = Selection::new(Mechanism::Anonymous, ChannelBindingChoice::Unsupported);
        let client = Client::new(
            &sel,
            ClientCredentials::none().with_trace(trace),
            &TlsInfo::tls(),
            &ClientConfig::default(),
            &mut SeededRandom::new(0),
        );
        assert_eq!(client.is_ok(), ok, "{trace:?}");
    }
}

// --- Client: success data, EXTERNAL, password checks ---------------------------------

#[test]
fn single_message_mechanisms_refuse_success_data() {
    let cases = [
        (
            Mechanism::Plain,
            ClientCredentials::password(USER, PASSWORD),
        ),
        (Mechanism::External, ClientCredentials::none()),
        (Mechanism::Anonymous, ClientCredentials::none()),
    ];
    for (m, creds) in cases {
        let sel = Selection::new(m, ChannelBindingChoice::Unsupported);
        let make = |creds| {
            let mut c = Client::new(
                &sel,
                creds,
                &TlsInfo::tls(),
                &ClientConfig::default(),
                &mut SeededRandom::new(0),
            )
            .unwrap();
            c.initial_response().unwrap();
            c
        };
        let mut client = make(creds);
        assert_eq!(
            client.success(Some(b"v=xyz")).unwrap_err(),
            Error::UnexpectedSuccessData,
            "{m}"
        );
        let fresh = if m == Mechanism::Plain {
            ClientCredentials::password(USER, PASSWORD)
        } else {
            ClientCredentials::none()
        };
        let mut client = make(fresh);
        // `=`, i.e. present but empty, carries nothing.
        client.success(Some(b"")).unwrap();
    }
}

#[test]
fn external_client_needs_tls() {
    let sel = Selection::new(Mechanism::External, ChannelBindingChoice::Unsupported);
    let err = Client::new(
        &sel,
        ClientCredentials::none(),
        &TlsInfo::plaintext(),
        &ClientConfig::default(),
        &mut SeededRandom::new(0),
    )
    .unwrap_err();
    assert_eq!(err, Error::EncryptionRequired("EXTERNAL"));
}

#[test]
fn client_password_is_prepared_at_creation() {
    let sel = scram_selection(Mechanism::ScramSha256, ChannelBindingChoice::Unsupported);
    let make = |cache: Option<SaltedPasswordCache>| {
        let mut creds = ClientCredentials::password(USER, "pen\u{0007}cil");
        if let Some(c) = cache {
            creds = creds.with_cache(c);
        }
        Client::new(
            &sel,
            creds,
            &TlsInfo::tls(),
            &ClientConfig::default(),
            &mut SeededRandom::new(0),
        )
    };
    assert!(matches!(make(None).unwrap_err(), Error::Saslprep(_)));
    // Also when a cache could have skipped PBKDF2.
    let mut cache = SaltedPasswordCache::new();
    cache.insert(ScramHash::Sha256, b"fixed salt", 4096, &[7; 32]);
    assert!(matches!(make(Some(cache)).unwrap_err(), Error::Saslprep(_)));
}

#[test]
fn data_after_verification_in_a_challenge_fails() {
    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client.challenge(RFC5802.server_final.as_bytes()).unwrap(),
        b""
    );
    assert_eq!(
        client
            .success(Some(RFC5802.server_final.as_bytes()))
            .unwrap_err(),
        Error::UnexpectedSuccessData
    );
}

#[test]
fn server_error_in_a_challenge() {
    let mut client = rfc5802_client();
    client.challenge(RFC5802.server_first.as_bytes()).unwrap();
    assert_eq!(
        client.challenge(b"e=invalid-proof").unwrap_err(),
        Error::ServerError("invalid-proof".into())
    );
    assert!(client.success(None).is_err());
}
