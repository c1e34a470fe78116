//! A deployed stage as the operator sees it, arranged in moto: the user pool with the stack's
//! password policy and TOTP MFA, the operator client, the smoke-user secret holding the stack's
//! initial document, an API key per client app (`web`, then `mobile`, as config/stages.json
//! names them), and a stack `SecureServerlessBackend-<stage>` whose outputs name them (the outputs
//! docs/STACK.md lists, `ApiKeyIds` as the stack renders it).

use aws_sdk_cognitoidentityprovider::types::{
    ExplicitAuthFlowsType, PasswordPolicyType, SoftwareTokenMfaConfigType, UserPoolMfaType,
    UserPoolPolicyType, UsernameAttributeType,
};
use std::collections::BTreeMap;

use serde_json::json;

use crate::harness::Moto;

/// The client apps of the arranged stage, in config/stages.json's order (not sorted: `web` first).
pub const CLIENTS: &[&str] = &["web", "mobile"];

pub struct Stage {
    pub region: String,
    pub pool_id: String,
    pub client_id: String,
    pub secret_arn: String,
    /// The first client's (`web`) key value: what `token` gives without `--client`.
    pub api_key_value: String,
    /// Every client's key value by name.
    pub api_key_values: BTreeMap<String, String>,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

pub async fn arrange(
    moto: &Moto,
    region: &str,
    stage: &str,
    mfa: UserPoolMfaType,
    api_url: &str,
) -> Stage {
    let sdk = moto.sdk(region);
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("{stage}-pool"))
        .username_attributes(UsernameAttributeType::Email)
        .policies(
            UserPoolPolicyType::builder()
                .password_policy(
                    PasswordPolicyType::builder()
                        .minimum_length(14)
                        .require_lowercase(true)
                        .require_uppercase(true)
                        .require_numbers(true)
                        .require_symbols(true)
                        .temporary_password_validity_days(3)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create pool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    cognito
        .set_user_pool_mfa_config()
        .user_pool_id(&pool_id)
        .software_token_mfa_configuration(
            SoftwareTokenMfaConfigType::builder().enabled(true).build(),
        )
        .mfa_configuration(mfa)
        .send()
        .await
        .expect("mfa config");
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("operator")
        .generate_secret(false)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .send()
        .await
        .expect("create client");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();

    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = secrets
        .create_secret()
        .name(format!(
            "SecureServerlessBackend-{stage}/smoke-user-0f0e0d0c"
        ))
        .secret_string(r#"{"users":{}}"#)
        .send()
        .await
        .expect("create secret");
    let secret_arn = secret.arn().expect("secret arn").to_owned();

    let apigateway = aws_sdk_apigateway::Client::new(&sdk);
    let mut key_ids = Vec::new();
    let mut api_key_values = BTreeMap::new();
    for client in CLIENTS {
        let key = apigateway
            .create_api_key()
            .name(format!("SecureServerlessBackend-{stage}-{client}"))
            .enabled(true)
            .send()
            .await
            .expect("api key");
        let key_id = key.id().expect("key id").to_owned();
        api_key_values.insert(
            (*client).to_owned(),
            key.value().expect("key value").to_owned(),
        );
        key_ids.push(format!("\"{client}\":\"{key_id}\""));
    }
    // The stack's Fn::Join renders the object in the stage's order of clients, web first.
    let api_key_ids = format!("{{{}}}", key_ids.join(","));
    let api_key_value = api_key_values[CLIENTS[0]].clone();

    let template = json!({
        "Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {
            "ApiUrl": {"Value": api_url},
            "UserPoolId": {"Value": pool_id},
            "OperatorClientId": {"Value": client_id},
            "SmokeUserSecretArn": {"Value": secret_arn},
            "ApiKeyIds": {"Value": api_key_ids}
        }
    });
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name(format!("SecureServerlessBackend-{stage}"))
        .template_body(template.to_string())
        .send()
        .await
        .expect("create stack");
    Stage {
        region: region.to_owned(),
        pool_id,
        client_id,
        secret_arn,
        api_key_value,
        api_key_values,
        cognito,
        secrets,
    }
}

impl Stage {
    /// The secret's document as stored.
    pub async fn document(&self) -> serde_json::Value {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_arn)
            .send()
            .await
            .expect("get secret");
        serde_json::from_str(out.secret_string().expect("string")).expect("json")
    }

    pub async fn put_document(&self, doc: &serde_json::Value) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_arn)
            .secret_string(doc.to_string())
            .send()
            .await
            .expect("put secret");
    }

    pub async fn user_count(&self) -> usize {
        self.cognito
            .list_users()
            .user_pool_id(&self.pool_id)
            .send()
            .await
            .expect("list users")
            .users()
            .len()
    }
}
