//! Admin sign-in through the operator app client (ADMIN_USER_PASSWORD_AUTH), with the TOTP
//! challenge answered from the stored secret.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ChallengeNameType};

use crate::Fatal;
use aws_sdk_cognitoidentityprovider::error::{ProvideErrorMetadata, SdkError};

use crate::aws::{error_code, fatal, sdk_message};
use crate::totp;

/// A pool and the operator client of a stage.
#[derive(Debug, Clone)]
pub struct Pool {
    pub client: Client,
    pub pool_id: String,
    pub client_id: String,
}

/// What a sign-in returns that the CLI uses.
#[derive(Clone)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
    pub expires_in: i32,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// One step of a sign-in: tokens, or a challenge to answer.
#[derive(Debug, Clone)]
pub enum Step {
    Tokens(Tokens),
    Challenge {
        name: ChallengeNameType,
        session: String,
        username: String,
    },
}

/// Why a sign-in with stored credentials did not work.
#[derive(Debug)]
pub enum SignInError {
    /// Wrong password, unknown or disabled user, or a refused TOTP code twice: repair the user.
    Refused(String),
    /// Cognito asks for something a finished smoke user never meets (new password, MFA setup).
    Unfinished(String),
    Fatal(Fatal),
}

impl Pool {
    /// AdminInitiateAuth with ADMIN_USER_PASSWORD_AUTH.
    pub async fn initiate(&self, username: &str, password: &str) -> Result<Step, SignInError> {
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await;
        match out {
            Ok(out) => step(
                out.authentication_result(),
                out.challenge_name(),
                out.session(),
                out.challenge_parameters(),
                username,
            ),
            Err(e) => Err(sign_in_error(
                &e,
                &[
                    "NotAuthorizedException",
                    "UserNotFoundException",
                    "PasswordResetRequiredException",
                ],
                "Admin sign-in (Cognito AdminInitiateAuth)",
            )),
        }
    }

    /// AdminRespondToAuthChallenge.
    pub async fn respond(
        &self,
        name: ChallengeNameType,
        session: &str,
        username: &str,
        answers: &[(&str, &str)],
    ) -> Result<Step, SignInError> {
        let mut request = self
            .client
            .admin_respond_to_auth_challenge()
            .user_pool_id(&self.pool_id)
            .client_id(&self.client_id)
            .challenge_name(name.clone())
            .session(session)
            .challenge_responses("USERNAME", username);
        for (k, v) in answers {
            request = request.challenge_responses(*k, *v);
        }
        match request.send().await {
            Ok(out) => step(
                out.authentication_result(),
                out.challenge_name(),
                out.session(),
                out.challenge_parameters(),
                username,
            ),
            Err(e) => Err(sign_in_error(
                &e,
                &[
                    "CodeMismatchException",
                    "ExpiredCodeException",
                    "NotAuthorizedException",
                ],
                &format!(
                    "Answering Cognito's {} challenge (AdminRespondToAuthChallenge)",
                    name.as_str()
                ),
            )),
        }
    }

    /// Signs in with a password and a TOTP secret. A refused code is tried once more with the
    /// next step's code (Cognito may refuse a code already used in its step).
    pub async fn sign_in_with_totp(
        &self,
        username: &str,
        password: &str,
        totp_secret: &str,
    ) -> Result<Tokens, SignInError> {
        let mut refused = None;
        for attempt in 0..2 {
            if attempt == 1 {
                tokio::time::sleep(
                    totp::until_next_step(totp::now()) + std::time::Duration::from_secs(1),
                )
                .await;
            }
            match self.initiate(username, password).await? {
                Step::Tokens(tokens) => return Ok(tokens),
                Step::Challenge {
                    name,
                    session,
                    username: user_id,
                } if name == ChallengeNameType::SoftwareTokenMfa => {
                    tokio::time::sleep(totp::wait_for_fresh_step(totp::now(), 3)).await;
                    let code =
                        totp::code_at(totp_secret, totp::now()).map_err(SignInError::Fatal)?;
                    match self
                        .respond(
                            name,
                            &session,
                            &user_id,
                            &[("SOFTWARE_TOKEN_MFA_CODE", &code)],
                        )
                        .await
                    {
                        Ok(Step::Tokens(tokens)) => return Ok(tokens),
                        Ok(Step::Challenge { name, .. }) => {
                            return Err(SignInError::Unfinished(name.as_str().to_owned()));
                        }
                        Err(SignInError::Refused(why)) => refused = Some(why),
                        Err(other) => return Err(other),
                    }
                }
                Step::Challenge { name, .. } => {
                    return Err(SignInError::Unfinished(name.as_str().to_owned()));
                }
            }
        }
        Err(SignInError::Refused(refused.unwrap_or_else(|| {
            "the TOTP code was refused twice".to_owned()
        })))
    }
}

/// `Refused` for the error codes that mean "these credentials do not sign in", else the sentence.
fn sign_in_error<E, R>(e: &SdkError<E, R>, refused: &[&str], what: &str) -> SignInError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    match error_code(e) {
        Some(code) if refused.contains(&code) => SignInError::Refused(sdk_message(e)),
        _ => SignInError::Fatal(fatal(what, e)),
    }
}

fn step(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
    challenge: Option<&ChallengeNameType>,
    session: Option<&str>,
    parameters: Option<&HashMap<String, String>>,
    username: &str,
) -> Result<Step, SignInError> {
    if let Some(r) = result {
        return match (r.id_token(), r.access_token()) {
            (Some(id), Some(access)) => Ok(Step::Tokens(Tokens {
                id_token: id.to_owned(),
                access_token: access.to_owned(),
                expires_in: r.expires_in(),
            })),
            _ => Err(SignInError::Fatal(Fatal::failed(
                "Cognito signed the user in but returned no ID or access token.",
            ))),
        };
    }
    match (challenge, session) {
        (Some(name), Some(session)) => Ok(Step::Challenge {
            name: name.clone(),
            session: session.to_owned(),
            // In pools that sign in with an e-mail address the challenge names the real user name.
            username: parameters
                .and_then(|p| p.get("USER_ID_FOR_SRP"))
                .cloned()
                .unwrap_or_else(|| username.to_owned()),
        }),
        _ => Err(SignInError::Fatal(Fatal::failed(
            "Cognito answered the sign-in with neither tokens nor a challenge.",
        ))),
    }
}
