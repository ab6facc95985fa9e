//! Every log line at TRACE, every result and error, while a key file holding
//! the sentinel is used: a refused token, validation, create, edit, delete.
//! None holds the sentinel, the key, a JWT or an access token.

use crate::keys::{self, PROJECT};
use crate::support::{
    ALL_HELD, Captured, config_for, emulator, emulator_turn, fake, unique, validate,
};
use junction_bigquery::BigQuery;
use junction_core::{CheckContext, DynPlatform};
use junction_testkit::{SENTINEL, op_context};
use serde_json::json;

fn with_sentinel(mut c: serde_json::Value, n: usize, token_uri: &str) -> serde_json::Value {
    let mut file = keys::key_file_value(n, PROJECT, &keys::email("junction", PROJECT), token_uri);
    file["private_key_id"] = json!(SENTINEL);
    c["credential"] = json!(file.to_string());
    c
}

#[tokio::test(flavor = "current_thread")]
async fn no_output_holds_key_material_a_jwt_or_a_token() {
    let Some(emu) = emulator() else { return };
    let _turn = emulator_turn().await;
    let (logs, _guard) = Captured::start();
    let mut outputs = Vec::new();

    // A refused token first (the account's key is key 1).
    let refusing = fake(Some(&emu), 1, &ALL_HELD).await;
    let c = with_sentinel(config_for(&refusing, 0, "meta"), 0, &refusing.token_uri());
    let r = validate(&c, CheckContext::default()).await;
    outputs.push(serde_json::to_string(&r).unwrap());
    let e = DynPlatform::create(&BigQuery::platform(), &op_context(false, 0), &c)
        .await
        .unwrap_err();
    outputs.push(format!("{e} {e:?}"));

    // Then accepted: validation, create, edit, delete.
    let f = fake(Some(&emu), 0, &ALL_HELD).await;
    let dataset = unique("logs");
    let c = with_sentinel(config_for(&f, 0, &dataset), 0, &f.token_uri());
    let r = validate(&c, CheckContext::default()).await;
    outputs.push(serde_json::to_string(&r).unwrap());
    let out = DynPlatform::create(&BigQuery::platform(), &op_context(false, 0), &c)
        .await
        .unwrap();
    let mut new = out.config.clone();
    new["dataset"] = json!(format!("{dataset}_moved"));
    let edited = DynPlatform::edit(
        &BigQuery::platform(),
        &op_context(false, 1),
        &out.config,
        &new,
    )
    .await
    .unwrap();
    DynPlatform::delete(
        &BigQuery::platform(),
        &op_context(false, 1),
        &edited.config,
        None,
    )
    .await
    .unwrap();
    let parsed = DynPlatform::parse(&BigQuery::platform(), &c, false).unwrap();
    outputs.push(parsed.public.to_string());

    let mut secrets: Vec<String> = vec![SENTINEL.to_owned()];
    secrets.extend(keys::key_material(0));
    secrets.extend(f.issued_tokens());
    secrets.extend(refusing.issued_tokens());
    secrets.extend(f.exchanges().into_iter().map(|e| e.jwt));
    secrets.extend(refusing.exchanges().into_iter().map(|e| e.jwt));
    assert!(f.issued() >= 1 && !f.exchanges().is_empty());
    let text = logs.text();
    assert!(
        text.contains("BigQuery connection test failed"),
        "the log is captured"
    );
    for s in &secrets {
        assert!(
            !text.contains(s.as_str()),
            "the log holds a secret ({}…)",
            &s[..8]
        );
        for o in &outputs {
            assert!(
                !o.contains(s.as_str()),
                "an output holds a secret ({}…)",
                &s[..8]
            );
        }
    }
}
