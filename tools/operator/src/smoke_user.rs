//! A stage's smoke users: Cognito users with a random password and a TOTP secret, kept in the
//! stage's Secrets Manager secret (`SmokeUserSecretArn`) as
//! `{"users": {"<name>": {"username", "password", "totpSecret"}}}`.
//!
//! `ensure` is idempotent: a user whose stored password and TOTP secret still sign in is reused;
//! anything else (no entry, no user, an unfinished user, refused credentials, `--rotate`) is
//! repaired by deleting the Cognito user and creating it again, so that no run leaves two.

use std::collections::BTreeMap;

use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, ChallengeNameType, MessageActionType, SoftwareTokenMfaSettingsType,
    UserStatusType,
};
use serde::{Deserialize, Serialize};

use crate::aws::{Aws, error_code, fatal};
use crate::cognito::{Pool, SignInError, Step, Tokens};
use crate::{Fatal, password, totp};

/// The default smoke user's name (`USER=` on the make targets picks another).
pub const DEFAULT_USER: &str = "smoke";

/// One smoke user as stored. Its Debug output never shows the password or the TOTP secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SmokeUser {
    pub username: String,
    pub password: String,
    pub totp_secret: String,
}

impl std::fmt::Debug for SmokeUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmokeUser")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The secret's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmokeUsers {
    pub users: BTreeMap<String, SmokeUser>,
}

impl SmokeUsers {
    /// Parses the secret's value; anything else is refused rather than overwritten.
    pub fn parse(text: &str, secret_arn: &str) -> Result<Self, Fatal> {
        serde_json::from_str(text).map_err(|e| {
            Fatal::failed(format!(
                "The secret {secret_arn} does not hold the smoke-user document ({e}): fix or empty it to {{\"users\":{{}}}} before make smoke-user."
            ))
        })
    }

    pub fn to_json(&self) -> Result<String, Fatal> {
        serde_json::to_string(self)
            .map_err(|e| Fatal::failed(format!("Cannot serialize the smoke-user document: {e}.")))
    }
}

/// A smoke user's name: 1–32 lower-case letters, digits or '-', starting with a letter.
pub fn validate_name(name: &str) -> Result<(), Fatal> {
    if crate::is_plain_name(name) {
        Ok(())
    } else {
        Err(Fatal::failed(format!(
            "USER={name:?} is not a smoke-user name: use 1–32 lower-case letters, digits or '-', starting with a letter."
        )))
    }
}

/// The user's sign-in name: an e-mail address (the pool signs in by e-mail) in the reserved
/// `.invalid` domain (RFC 2606), so that Cognito can never deliver a message to anyone.
pub fn username_for(name: &str) -> String {
    format!("{name}@smoke-user.invalid")
}

/// What `ensure` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Reused,
    Repaired(String),
}

/// The stage's pool, operator client and secret, from the stack outputs.
#[derive(Debug, Clone)]
pub struct Stage {
    pub pool: Pool,
    pub secret_arn: String,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Stage {
    pub fn new(aws: &Aws, pool_id: &str, client_id: &str, secret_arn: &str) -> Self {
        Self {
            pool: Pool {
                client: aws_sdk_cognitoidentityprovider::Client::new(&aws.config),
                pool_id: pool_id.to_owned(),
                client_id: client_id.to_owned(),
            },
            secret_arn: secret_arn.to_owned(),
            secrets: aws_sdk_secretsmanager::Client::new(&aws.config),
        }
    }

    /// GetSecretValue → the document.
    pub async fn read_users(&self) -> Result<SmokeUsers, Fatal> {
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(&self.secret_arn)
            .send()
            .await
            .map_err(|e| {
                fatal(
                    &format!(
                        "Reading the smoke-user secret {} (Secrets Manager GetSecretValue)",
                        self.secret_arn
                    ),
                    &e,
                )
            })?;
        SmokeUsers::parse(out.secret_string().unwrap_or_default(), &self.secret_arn)
    }

    /// PutSecretValue of the whole document.
    async fn write_users(&self, users: &SmokeUsers) -> Result<(), Fatal> {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_arn)
            .secret_string(users.to_json()?)
            .send()
            .await
            .map_err(|e| {
                fatal(
                    &format!(
                        "Storing the smoke user in {} (Secrets Manager PutSecretValue)",
                        self.secret_arn
                    ),
                    &e,
                )
            })?;
        Ok(())
    }

    /// The stored user `name`, or the command that makes it.
    pub async fn stored_user(&self, name: &str, stage: &str) -> Result<SmokeUser, Fatal> {
        self.read_users().await?.users.remove(name).ok_or_else(|| {
            let user = if name == DEFAULT_USER { String::new() } else { format!(" USER={name}") };
            Fatal::failed(format!("Stage {stage} has no smoke user {name:?} yet: run make smoke-user STAGE={stage}{user}."))
        })
    }

    /// Creates, reuses or repairs the smoke user `name` (see the module's documentation).
    pub async fn ensure(&self, name: &str, rotate: bool) -> Result<Outcome, Fatal> {
        validate_name(name)?;
        let mut users = self.read_users().await?;
        let username = username_for(name);
        let existing = self.user_state(&username).await?;

        let repair_reason = match (&existing, users.users.get(name)) {
            (None, None) => None,
            (None, Some(_)) => Some("the Cognito user was missing".to_owned()),
            (Some(_), _) if rotate => Some("rotated on request".to_owned()),
            (Some(_), None) => {
                Some("the Cognito user existed without stored credentials".to_owned())
            }
            (Some(state), Some(stored)) => match self.still_works(stored, state).await? {
                Ok(()) => return Ok(Outcome::Reused),
                Err(why) => Some(why),
            },
        };
        if existing.is_some() {
            self.pool
                .client
                .admin_delete_user()
                .user_pool_id(&self.pool.pool_id)
                .username(&username)
                .send()
                .await
                .map_err(|e| fatal(&format!("Deleting the smoke user {username} to repair it (Cognito AdminDeleteUser)"), &e))?;
        }
        let user = self.create(&username).await?;
        users.users.insert(name.to_owned(), user);
        self.write_users(&users).await?;
        Ok(match repair_reason {
            Some(why) => Outcome::Repaired(why),
            None => Outcome::Created,
        })
    }

    /// AdminGetUser: None when there is no such user.
    async fn user_state(&self, username: &str) -> Result<Option<UserState>, Fatal> {
        match self
            .pool
            .client
            .admin_get_user()
            .user_pool_id(&self.pool.pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(u) => Ok(Some(UserState {
                enabled: u.enabled(),
                status: u.user_status().cloned(),
                totp: u
                    .user_mfa_setting_list()
                    .iter()
                    .any(|m| m == "SOFTWARE_TOKEN_MFA"),
            })),
            Err(e) if error_code(&e) == Some("UserNotFoundException") => Ok(None),
            Err(e) => Err(fatal(
                &format!("Looking up the smoke user {username} (Cognito AdminGetUser)"),
                &e,
            )),
        }
    }

    /// Whether a stored user still signs in: Ok(Ok) to reuse it, Ok(Err(why)) to repair it.
    async fn still_works(
        &self,
        stored: &SmokeUser,
        state: &UserState,
    ) -> Result<Result<(), String>, Fatal> {
        if !state.enabled {
            return Ok(Err("the Cognito user was disabled".to_owned()));
        }
        if state.status != Some(UserStatusType::Confirmed) {
            let status = state
                .status
                .as_ref()
                .map_or("unknown", UserStatusType::as_str);
            return Ok(Err(format!("the Cognito user's status was {status}")));
        }
        if !state.totp {
            return Ok(Err("the Cognito user had no TOTP MFA".to_owned()));
        }
        match self
            .pool
            .sign_in_with_totp(&stored.username, &stored.password, &stored.totp_secret)
            .await
        {
            Ok(_) => Ok(Ok(())),
            Err(SignInError::Refused(why)) => {
                Ok(Err(format!("the stored credentials were refused ({why})")))
            }
            Err(SignInError::Unfinished(challenge)) => {
                Ok(Err(format!("Cognito still asked for {challenge}")))
            }
            Err(SignInError::Fatal(f)) => Err(f),
        }
    }

    /// AdminCreateUser (no message sent), the first sign-in's new password, then the TOTP setup.
    async fn create(&self, username: &str) -> Result<SmokeUser, Fatal> {
        let minimum = self.minimum_password_length().await?;
        let temporary = password::generate(minimum)?;
        let password = password::generate(minimum)?;
        self.pool
            .client
            .admin_create_user()
            .user_pool_id(&self.pool.pool_id)
            .username(username)
            .temporary_password(&temporary)
            .message_action(MessageActionType::Suppress)
            .user_attributes(attribute("email", username)?)
            .user_attributes(attribute("email_verified", "true")?)
            .send()
            .await
            .map_err(|e| {
                fatal(
                    &format!("Creating the smoke user {username} (Cognito AdminCreateUser)"),
                    &e,
                )
            })?;

        let unfinished = |what: &str| {
            Fatal::failed(format!(
                "Setting up the smoke user {username} stopped: {what}."
            ))
        };
        let refused = |why: String| unfinished(&format!("Cognito refused it ({why})"));
        let lift = |e: SignInError| match e {
            SignInError::Refused(why) => refused(why),
            SignInError::Unfinished(c) => unfinished(&format!("Cognito asked for {c}")),
            SignInError::Fatal(f) => f,
        };

        // First sign-in: the temporary password must be replaced.
        let (session, user_id) = match self
            .pool
            .initiate(username, &temporary)
            .await
            .map_err(lift)?
        {
            Step::Challenge {
                name: ChallengeNameType::NewPasswordRequired,
                session,
                username: id,
            } => (session, id),
            Step::Challenge { name, .. } => {
                return Err(unfinished(&format!(
                    "Cognito asked for {} instead of a new password",
                    name.as_str()
                )));
            }
            Step::Tokens(_) => {
                return Err(unfinished(
                    "Cognito did not ask to replace the temporary password",
                ));
            }
        };
        let after_password = self
            .pool
            .respond(
                ChallengeNameType::NewPasswordRequired,
                &session,
                &user_id,
                &[("NEW_PASSWORD", &password)],
            )
            .await
            .map_err(lift)?;

        // TOTP: through the MFA_SETUP challenge's session where MFA is required, or with the
        // access token where it is optional.
        let totp_secret = match after_password {
            Step::Challenge {
                name: ChallengeNameType::MfaSetup,
                session,
                username: id,
            } => {
                let (secret, session) = self.associate(Some(&session), None).await?;
                let session = self
                    .verify(&secret, Some(&session), None)
                    .await?
                    .ok_or_else(|| unfinished("VerifySoftwareToken returned no session"))?;
                match self
                    .pool
                    .respond(ChallengeNameType::MfaSetup, &session, &id, &[])
                    .await
                    .map_err(lift)?
                {
                    Step::Tokens(_) => {}
                    Step::Challenge { name, .. } => {
                        return Err(unfinished(&format!(
                            "Cognito asked for {} after the MFA setup",
                            name.as_str()
                        )));
                    }
                }
                secret
            }
            Step::Tokens(Tokens { access_token, .. }) => {
                let (secret, _) = self.associate(None, Some(&access_token)).await?;
                self.verify(&secret, None, Some(&access_token)).await?;
                secret
            }
            Step::Challenge { name, .. } => {
                return Err(unfinished(&format!(
                    "Cognito asked for {} after the new password",
                    name.as_str()
                )));
            }
        };

        self.pool
            .client
            .admin_set_user_mfa_preference()
            .user_pool_id(&self.pool.pool_id)
            .username(username)
            .software_token_mfa_settings(SoftwareTokenMfaSettingsType::builder().enabled(true).preferred_mfa(true).build())
            .send()
            .await
            .map_err(|e| fatal(&format!("Making TOTP the smoke user's MFA (Cognito AdminSetUserMFAPreference) for {username}"), &e))?;
        Ok(SmokeUser {
            username: username.to_owned(),
            password,
            totp_secret,
        })
    }

    /// AssociateSoftwareToken → (the base32 secret, the next session if any).
    async fn associate(
        &self,
        session: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<(String, String), Fatal> {
        let out = self
            .pool
            .client
            .associate_software_token()
            .set_session(session.map(str::to_owned))
            .set_access_token(access_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| {
                fatal(
                    "Starting the smoke user's TOTP setup (Cognito AssociateSoftwareToken)",
                    &e,
                )
            })?;
        let secret = out
            .secret_code()
            .map(str::to_owned)
            .ok_or_else(|| Fatal::failed("Cognito's AssociateSoftwareToken returned no secret."))?;
        Ok((secret, out.session().unwrap_or_default().to_owned()))
    }

    /// VerifySoftwareToken with the current code → the next session if any.
    async fn verify(
        &self,
        secret: &str,
        session: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<Option<String>, Fatal> {
        tokio::time::sleep(totp::wait_for_fresh_step(totp::now(), 3)).await;
        let code = totp::code_at(secret, totp::now())?;
        let out = self
            .pool
            .client
            .verify_software_token()
            .set_session(session.map(str::to_owned))
            .set_access_token(access_token.map(str::to_owned))
            .user_code(code)
            .friendly_device_name("operator-cli")
            .send()
            .await
            .map_err(|e| {
                fatal(
                    "Confirming the smoke user's TOTP secret (Cognito VerifySoftwareToken)",
                    &e,
                )
            })?;
        Ok(out.session().map(str::to_owned))
    }

    /// The pool's minimum password length (DescribeUserPool).
    async fn minimum_password_length(&self) -> Result<usize, Fatal> {
        let out = self
            .pool
            .client
            .describe_user_pool()
            .user_pool_id(&self.pool.pool_id)
            .send()
            .await
            .map_err(|e| {
                fatal(
                    "Reading the user pool's password policy (Cognito DescribeUserPool)",
                    &e,
                )
            })?;
        let minimum = out
            .user_pool()
            .and_then(|p| p.policies())
            .and_then(|p| p.password_policy())
            .and_then(|p| p.minimum_length())
            .unwrap_or(8);
        Ok(usize::try_from(minimum).unwrap_or(8))
    }
}

#[derive(Debug, Clone)]
struct UserState {
    enabled: bool,
    status: Option<UserStatusType>,
    totp: bool,
}

fn attribute(name: &str, value: &str) -> Result<AttributeType, Fatal> {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .map_err(|e| Fatal::failed(format!("Cannot build the user attribute {name}: {e}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_round_trips_and_refuses_other_shapes() {
        let text = r#"{"users":{"smoke":{"username":"smoke@smoke-user.invalid","password":"p","totpSecret":"S"}}}"#;
        let doc = SmokeUsers::parse(text, "arn").unwrap_or_default();
        assert_eq!(doc.users["smoke"].username, "smoke@smoke-user.invalid");
        assert_eq!(doc.to_json().ok().as_deref(), Some(text));
        assert_eq!(
            SmokeUsers::parse(r#"{"users":{}}"#, "arn").ok(),
            Some(SmokeUsers::default())
        );
        for bad in [
            "",
            "random-password",
            r#"{"users":{"smoke":{"password":"p"}}}"#,
            r#"{"users":{},"other":1}"#,
        ] {
            assert!(
                SmokeUsers::parse(bad, "arn")
                    .is_err_and(|e| e.sentence.contains("does not hold the smoke-user document")),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_output_never_shows_the_password_or_the_secret() {
        let u = SmokeUser {
            username: "u@x.invalid".into(),
            password: "hunter2hunter2".into(),
            totp_secret: "JBSWY3DPEHPK3PXP".into(),
        };
        let shown = format!(
            "{u:?} {:?}",
            SmokeUsers {
                users: [("smoke".to_owned(), u.clone())].into()
            }
        );
        assert!(
            !shown.contains("hunter2") && !shown.contains("JBSWY3DP"),
            "{shown}"
        );
    }

    #[test]
    fn smoke_user_names() {
        for good in ["smoke", "smoke-2", "ci"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Smoke", "2smoke", "smoke user", "a@b", &"x".repeat(33)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
        assert_eq!(username_for("smoke"), "smoke@smoke-user.invalid");
    }
}
