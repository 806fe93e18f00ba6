//! One setting of a role at a time: `role/:role_name/<field>` (Vault's per-field paths of
//! `path_role.go`), so a policy can grant a team one knob of a role without the rest.
//!
//! Each path reads (`GET`: the field, 404 without the role), sets (`POST`: 204; the field
//! is required, 404 without the role) or resets to its default (`DELETE`: 204, also
//! without the role) one field. The paths and fields:
//!
//! | path | field(s) |
//! |---|---|
//! | `policies` | `token_policies` (or the legacy `policies`, echoed when it set them) |
//! | `secret-id-num-uses` | `secret_id_num_uses` |
//! | `secret-id-ttl` | `secret_id_ttl` |
//! | `token-ttl` | `token_ttl` |
//! | `token-max-ttl` | `token_max_ttl` |
//! | `token-num-uses` | `token_num_uses` |
//! | `token-bound-cidrs` | `token_bound_cidrs` (always empty: tokens are not bound here) |
//! | `secret-id-bound-cidrs` | `secret_id_bound_cidrs` |
//! | `bound-cidr-list` | `bound_cidr_list`, the deprecated name of the same list |
//! | `bind-secret-id` | `bind_secret_id` (reset: `true`) |
//! | `period` | `token_period` (or the legacy `period`) |
//!
//! `role-id` and the read-only `local-secret-ids` are served with the role (`role.rs`).
//! One rule is stricter than Vault's: a change that would leave the role with neither
//! `bind_secret_id` nor a CIDR list is refused, as creating such a role is, since anyone
//! holding its role id could log in.

use serde_json::json;

use super::role::{check_constraints, load, RoleEntry};
use super::{cidr_field, object, AppRole};
use crate::engines::kv::support::go_duration;
use crate::error::{Error, Result};
use crate::fields::{self, Data};
use crate::logical::{Ctx, Response};

/// A role setting with a path of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Policies,
    SecretIdNumUses,
    SecretIdTtl,
    TokenTtl,
    TokenMaxTtl,
    TokenNumUses,
    TokenBoundCidrs,
    SecretIdBoundCidrs,
    BoundCidrList,
    BindSecretId,
    Period,
}

/// Vault's warning on every read of the deprecated list.
const BOUND_CIDR_LIST_DEPRECATED: &str = "The \"bound_cidr_list\" field is deprecated and will \
                                          be removed. Please use \"secret_id_bound_cidrs\" instead.";

impl Field {
    /// The field a path segment names (`None`: not a per-field path).
    pub(super) fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "policies" => Self::Policies,
            "secret-id-num-uses" => Self::SecretIdNumUses,
            "secret-id-ttl" => Self::SecretIdTtl,
            "token-ttl" => Self::TokenTtl,
            "token-max-ttl" => Self::TokenMaxTtl,
            "token-num-uses" => Self::TokenNumUses,
            "token-bound-cidrs" => Self::TokenBoundCidrs,
            "secret-id-bound-cidrs" => Self::SecretIdBoundCidrs,
            "bound-cidr-list" => Self::BoundCidrList,
            "bind-secret-id" => Self::BindSecretId,
            "period" => Self::Period,
            _ => return None,
        })
    }

    /// The field as the role holds it now.
    fn read(self, role: &RoleEntry) -> Response {
        let t = &role.token;
        let data = match self {
            Self::Policies => {
                let mut data = json!({ "token_policies": t.token_policies });
                if t.legacy_policies && !t.token_policies.is_empty() {
                    data["policies"] = json!(t.token_policies);
                }
                data
            }
            Self::SecretIdNumUses => json!({ "secret_id_num_uses": role.secret_id_num_uses }),
            Self::SecretIdTtl => json!({ "secret_id_ttl": role.secret_id_ttl }),
            Self::TokenTtl => json!({ "token_ttl": t.token_ttl }),
            Self::TokenMaxTtl => json!({ "token_max_ttl": t.token_max_ttl }),
            Self::TokenNumUses => json!({ "token_num_uses": t.token_num_uses }),
            Self::TokenBoundCidrs => json!({ "token_bound_cidrs": [] }),
            Self::SecretIdBoundCidrs => {
                json!({ "secret_id_bound_cidrs": role.secret_id_bound_cidrs })
            }
            Self::BoundCidrList => json!({ "bound_cidr_list": role.secret_id_bound_cidrs }),
            Self::BindSecretId => json!({ "bind_secret_id": role.bind_secret_id }),
            Self::Period => json!({ "token_period": t.token_period }),
        };
        let mut response = Response::data(object(data));
        if self == Self::BoundCidrList {
            response.warnings.push(BOUND_CIDR_LIST_DEPRECATED.into());
        }
        response
    }

    /// Sets the field from `data` (as Vault: the field is required, except that an absent
    /// CIDR list changes nothing). `mount_max` is the mount's max lease TTL in seconds.
    fn set(self, role: &mut RoleEntry, data: &Data, mount_max: u64) -> Result<()> {
        let missing = |name: &str| Error::invalid(format!("missing {name}"));
        match self {
            Self::Policies => {
                let name = ["token_policies", "policies"]
                    .into_iter()
                    .find(|n| data.get(*n).is_some_and(|v| !v.is_null()))
                    .ok_or_else(|| missing("token_policies"))?;
                role.token.update_from(&only(data, name))?;
            }
            Self::SecretIdNumUses => {
                let uses = fields::integer(data, "secret_id_num_uses")?
                    .ok_or_else(|| missing("secret_id_num_uses"))?;
                if uses < 0 {
                    return Err(Error::invalid("secret_id_num_uses cannot be negative"));
                }
                role.secret_id_num_uses = uses;
            }
            Self::SecretIdTtl => {
                let ttl = fields::duration(data, "secret_id_ttl")?
                    .ok_or_else(|| missing("secret_id_ttl"))?;
                role.secret_id_ttl = ttl.as_secs();
            }
            Self::TokenTtl => {
                let ttl = fields::duration(data, "token_ttl")?
                    .ok_or_else(|| missing("token_ttl"))?
                    .as_secs();
                let max = role.token.token_max_ttl;
                if max > 0 && ttl > max {
                    return Err(Error::invalid(
                        "token_ttl should not be greater than token_max_ttl",
                    ));
                }
                role.token.update_from(&only(data, "token_ttl"))?;
            }
            Self::TokenMaxTtl => {
                let max = fields::duration(data, "token_max_ttl")?
                    .ok_or_else(|| missing("token_max_ttl"))?
                    .as_secs();
                if max > 0 && role.token.token_ttl > max {
                    return Err(Error::invalid(
                        "token_max_ttl should be greater than or equal to token_ttl",
                    ));
                }
                role.token.update_from(&only(data, "token_max_ttl"))?;
            }
            Self::TokenNumUses => {
                fields::integer(data, "token_num_uses")?
                    .ok_or_else(|| missing("token_num_uses"))?;
                role.token.update_from(&only(data, "token_num_uses"))?;
            }
            // Refused when it binds anything: tokens are not bound to addresses here.
            Self::TokenBoundCidrs => role.token.update_from(&only(data, "token_bound_cidrs"))?,
            Self::SecretIdBoundCidrs | Self::BoundCidrList => {
                let name = if self == Self::BoundCidrList {
                    "bound_cidr_list"
                } else {
                    "secret_id_bound_cidrs"
                };
                if let Some(list) = cidr_field(data, name)? {
                    if list.is_empty() {
                        return Err(missing("bound_cidr_list"));
                    }
                    role.secret_id_bound_cidrs = list;
                }
            }
            Self::BindSecretId => {
                role.bind_secret_id = fields::boolean(data, "bind_secret_id")?
                    .ok_or_else(|| missing("bind_secret_id"))?;
            }
            Self::Period => {
                let name = ["token_period", "period"]
                    .into_iter()
                    .find(|n| data.get(*n).is_some_and(|v| !v.is_null()))
                    .ok_or_else(|| missing("period"))?;
                let period = fields::duration(data, name)?.map_or(0, |d| d.as_secs());
                if mount_max > 0 && period > mount_max {
                    return Err(Error::invalid(format!(
                        "period of {:?} is greater than the backend's maximum lease TTL of {:?}",
                        go_duration(i64::try_from(period).unwrap_or(i64::MAX)),
                        go_duration(i64::try_from(mount_max).unwrap_or(i64::MAX)),
                    )));
                }
                role.token.update_from(&only(data, name))?;
            }
        }
        Ok(())
    }

    /// Puts the field back to its default (as a new role has it).
    fn reset(self, role: &mut RoleEntry) {
        let t = &mut role.token;
        match self {
            Self::Policies => {
                t.token_policies.clear();
                t.legacy_policies = false;
            }
            Self::SecretIdNumUses => role.secret_id_num_uses = 0,
            Self::SecretIdTtl => role.secret_id_ttl = 0,
            Self::TokenTtl => t.token_ttl = 0,
            Self::TokenMaxTtl => t.token_max_ttl = 0,
            Self::TokenNumUses => t.token_num_uses = 0,
            Self::TokenBoundCidrs => {}
            Self::SecretIdBoundCidrs | Self::BoundCidrList => role.secret_id_bound_cidrs.clear(),
            Self::BindSecretId => role.bind_secret_id = true,
            Self::Period => t.token_period = 0,
        }
    }
}

/// `data` with only the field `name`: what one path passes on to the shared token
/// settings, so nothing else in the body changes them.
fn only(data: &Data, name: &str) -> Data {
    data.iter()
        .filter(|(k, _)| k.as_str() == name)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl AppRole {
    pub(super) async fn read_role_field(
        &self,
        ctx: &Ctx,
        name: &str,
        field: Field,
    ) -> Result<Response> {
        let role = load(ctx, name).await?.ok_or(Error::NotFound)?;
        Ok(field.read(&role))
    }

    pub(super) async fn write_role_field(
        &self,
        ctx: &Ctx,
        name: &str,
        field: Field,
        data: &Data,
    ) -> Result<Response> {
        let _roles = self.roles.write().await;
        let Some(mut role) = load(ctx, name).await? else {
            return Err(Error::UnsupportedPath(format!(
                "role {name:?} does not exist"
            )));
        };
        field.set(&mut role, data, ctx.mount.max_lease_ttl.as_secs())?;
        self.save_changed(ctx, &role).await
    }

    pub(super) async fn delete_role_field(
        &self,
        ctx: &Ctx,
        name: &str,
        field: Field,
    ) -> Result<Response> {
        let _roles = self.roles.write().await;
        let Some(mut role) = load(ctx, name).await? else {
            return Ok(Response::empty());
        };
        field.reset(&mut role);
        self.save_changed(ctx, &role).await
    }

    /// Stores a role one field of which changed (its role id did not).
    async fn save_changed(&self, ctx: &Ctx, role: &RoleEntry) -> Result<Response> {
        check_constraints(role)?;
        self.save_role(ctx, role, &role.role_id).await?;
        Ok(Response::empty())
    }
}
